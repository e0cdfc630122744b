"""An OpenID Connect provider: discovery, the authorization code + PKCE exchange, ID token."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt


class OidcError(Exception):
    pass


@dataclass(frozen=True)
class Flow:
    """What the callback must find again: kept in a signed short-lived cookie."""

    state: str
    nonce: str
    verifier: str


def new_flow() -> Flow:
    return Flow(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
    )


def challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcProvider:
    def __init__(self, issuer: str, client_id: str, client_secret: str | None, scopes: str) -> None:
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = scopes
        self._metadata: dict[str, Any] | None = None
        self._http = httpx.AsyncClient(timeout=10.0)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _discovered(self) -> dict[str, Any]:
        if self._metadata is None:
            try:
                response = await self._http.get(f"{self._issuer}/.well-known/openid-configuration")
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise OidcError(f"identity provider discovery failed ({exc})") from None
            self._metadata = response.json()
        return self._metadata

    async def authorization_url(self, flow: Flow, redirect_uri: str) -> str:
        metadata = await self._discovered()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "scope": self._scopes,
                "state": flow.state,
                "nonce": flow.nonce,
                "code_challenge": challenge(flow.verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{metadata['authorization_endpoint']}?{query}"

    async def exchange(self, code: str, flow: Flow, redirect_uri: str) -> dict[str, Any]:
        """The verified claims of the ID token the code is exchanged for."""
        metadata = await self._discovered()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self._client_id,
            "code_verifier": flow.verifier,
        }
        auth = httpx.BasicAuth(self._client_id, self._client_secret or "")
        try:
            response = await self._http.post(
                metadata["token_endpoint"],
                data=form,
                auth=auth if self._client_secret else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise OidcError(f"token endpoint unreachable ({exc})") from None
        if response.status_code != 200:
            raise OidcError(f"the identity provider refused the code ({response.status_code})")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("no ID token in the token response")
        return await self._verified(id_token, flow.nonce, metadata)

    async def _verified(
        self, id_token: str, nonce: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            jwks = (await self._http.get(metadata["jwks_uri"])).json()
            header = jwt.get_unverified_header(id_token)
            keys = jwt.PyJWKSet.from_dict(jwks)
            key = next(k for k in keys.keys if header.get("kid") in (None, k.key_id))
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256", "ES256"],
                audience=self._client_id,
                issuer=metadata.get("issuer", self._issuer),
                leeway=30,
            )
        except (httpx.HTTPError, jwt.PyJWTError, StopIteration, ValueError) as exc:
            raise OidcError(f"the ID token does not verify ({type(exc).__name__})") from None
        if claims.get("nonce") != nonce:
            raise OidcError("the ID token's nonce does not match")
        return claims
