"""OIDC sign-in (authorization code + PKCE) against a small identity provider over real HTTP:
the console's redirect, the provider's code, the exchange with the verifier, the ID token's
claims (custom names) mapped to a role and shops, and the session cookie's attributes."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import jwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from orderlens.roles import Role
from orderlens_console.app import create_app
from orderlens_console.sessions import SESSION_COOKIE, SessionCodec
from orderlens_console.settings import ConsoleSettings
from orderlens_devtools.asgi import free_port, serve

pytestmark = pytest.mark.integration
CLIENT_ID = "orderlens-console"
SESSION_SECRET = "test-session-secret-0123456789"


@dataclass
class FakeIdp:
    """Issues a code for whoever asks, and an RS256 ID token for a code with its PKCE verifier."""

    url: str = ""
    claims: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    exchanges: list[dict[str, str]] = field(default_factory=list)
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

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
            assert q["code_challenge_method"] == "S256"
            code = f"code-{len(self.codes)}"
            self.codes[code] = {
                "challenge": q["code_challenge"],
                "nonce": q["nonce"],
                "redirect_uri": q["redirect_uri"],
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
            now = int(time.time())
            id_token = jwt.encode(
                {
                    "iss": self.url,
                    "aud": CLIENT_ID,
                    "iat": now,
                    "exp": now + 300,
                    "nonce": grant["nonce"],
                    **self.claims,
                },
                self.key,
                algorithm="RS256",
                headers={"kid": "k1"},
            )
            return JSONResponse({"id_token": id_token, "token_type": "Bearer"})

        async def jwks(request: Request) -> Response:
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return JSONResponse({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/authorize", authorize),
                Route("/token", token, methods=["POST"]),
                Route("/jwks", jwks),
            ]
        )


@pytest_asyncio.fixture
async def idp_and_console() -> AsyncIterator[tuple[FakeIdp, str]]:
    idp = FakeIdp()
    idp_port, console_port = free_port(), free_port()
    idp.url = f"http://127.0.0.1:{idp_port}"
    async with serve(idp.app(), idp_port):
        settings = ConsoleSettings(
            public_url=f"http://localhost:{console_port}",
            session_secret=SESSION_SECRET,
            oidc_issuer=idp.url,
            oidc_client_id=CLIENT_ID,
            oidc_role_claim="https://example.com/orderlens/role",
            oidc_shops_claim="https://example.com/orderlens/shops",
        )
        async with serve(create_app(settings), console_port) as console_url:
            yield idp, console_url.replace("127.0.0.1", "localhost")


async def walk_sign_in(client: httpx.AsyncClient, console_url: str) -> httpx.Response:
    """Follow the browser's redirects from /signin/oidc to the console's final answer."""
    start = await client.get(f"{console_url}/signin/oidc")
    assert start.status_code == 303
    authorize = urlparse(start.headers["location"])
    query = parse_qs(authorize.query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    back = await client.get(start.headers["location"])
    assert back.status_code == 302
    return await client.get(back.headers["location"])


async def test_oidc_code_flow_with_pkce_maps_configured_claims_to_a_session(
    idp_and_console: tuple[FakeIdp, str],
) -> None:
    idp, console_url = idp_and_console
    idp.claims = {
        "sub": "user-42",
        "name": "Sam Seller",
        "https://example.com/orderlens/role": "operations",
        "https://example.com/orderlens/shops": ["shop-1", "shop-2"],
    }
    async with httpx.AsyncClient(timeout=30) as client:
        done = await walk_sign_in(client, console_url)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/orders"
        set_cookie = [v for k, v in done.headers.multi_items() if k == "set-cookie"]
        session_header = next(v for v in set_cookie if v.startswith(f"{SESSION_COOKIE}="))
        assert "HttpOnly" in session_header
        assert "SameSite=lax" in session_header or "SameSite=Lax" in session_header
        assert "Secure" not in session_header  # localhost only
        session = SessionCodec(SESSION_SECRET, 3600).loads(client.cookies[SESSION_COOKIE])
    assert session is not None
    assert (session.sub, session.role, session.shops) == (
        "user-42",
        Role.OPERATIONS,
        ("shop-1", "shop-2"),
    )
    assert idp.exchanges[0]["code_verifier"], "the console sent its PKCE verifier"


async def test_oidc_sign_in_is_refused_without_a_role_claim_or_with_a_wrong_state(
    idp_and_console: tuple[FakeIdp, str],
) -> None:
    idp, console_url = idp_and_console
    idp.claims = {"sub": "user-7", "https://example.com/orderlens/shops": ["shop-1"]}
    async with httpx.AsyncClient(timeout=30) as client:
        done = await walk_sign_in(client, console_url)
        assert done.status_code == 403
        assert "names no orderlens role" in done.text
        assert SESSION_COOKIE not in client.cookies

        start = await client.get(f"{console_url}/signin/oidc")
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        forged = await client.get(
            f"{console_url}/auth/callback", params={"code": "code-x", "state": state + "x"}
        )
        assert forged.status_code == 400
        assert SESSION_COOKIE not in client.cookies
