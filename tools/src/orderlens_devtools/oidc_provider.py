"""A small OpenID Connect provider for tests and local runs (never in production images).

`DevIdentityProvider(client_id)`: discovery, `/authorize` (signs in whoever asks as `claims`,
no consent page), `/token` (authorization code + PKCE S256 only) answering an RS256 ID token,
and `/jwks`. `.mint(claims, audience=)` issues an access token with the same key, the way an
identity provider issues tokens for an API (query-api verifies those against `/jwks`).
`.app()` is the Starlette app; set `.url` to where it is served before the first request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

KID = "dev-idp-1"


@dataclass
class DevIdentityProvider:
    client_id: str
    url: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    exchanges: list[dict[str, str]] = field(default_factory=list)
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def mint(self, claims: dict[str, Any], *, audience: str, ttl: int = 300) -> str:
        now = int(time.time())
        token: str = jwt.encode(
            {"iss": self.url, "aud": audience, "iat": now, "exp": now + ttl, **claims},
            self.key,
            algorithm="RS256",
            headers={"kid": KID},
        )
        return token

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse(
                {
                    "issuer": self.url,
                    "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token",
                    "jwks_uri": f"{self.url}/jwks",
                }
            )

        async def authorize(request: Request) -> Response:
            q = request.query_params
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = f"code-{len(self.codes)}-{time.monotonic_ns()}"
            self.codes[code] = {
                "challenge": q["code_challenge"],
                "nonce": q.get("nonce", ""),
                "redirect_uri": q.get("redirect_uri", ""),
            }
            target = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})
            return RedirectResponse(target, status_code=302)

        async def token(request: Request) -> Response:
            form = dict(await request.form())
            self.exchanges.append({k: str(v) for k, v in form.items()})
            grant = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if grant is None or challenge != grant["challenge"]:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            id_token = self.mint({"nonce": grant["nonce"], **self.claims}, audience=self.client_id)
            return JSONResponse({"id_token": id_token, "token_type": "Bearer"})

        async def jwks(request: Request) -> Response:
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return JSONResponse({"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/jwks", jwks),
            ]
        )
