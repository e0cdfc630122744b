"""OIDC sign-in (authorization code + PKCE) against a small identity provider over real HTTP:
the console's redirect, the provider's code, the exchange with the verifier, the ID token's
claims (custom names) mapped to a role and shops, and the session cookie's attributes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import pytest_asyncio

from orderlens.roles import Role
from orderlens_console.app import create_app
from orderlens_console.sessions import SESSION_COOKIE, SessionCodec
from orderlens_console.settings import ConsoleSettings
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.oidc_provider import DevIdentityProvider

pytestmark = pytest.mark.integration
CLIENT_ID = "orderlens-console"
SESSION_SECRET = "test-session-secret-0123456789"


@pytest_asyncio.fixture
async def idp_and_console() -> AsyncIterator[tuple[DevIdentityProvider, str]]:
    idp = DevIdentityProvider(CLIENT_ID)
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
    idp_and_console: tuple[DevIdentityProvider, str],
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
    idp_and_console: tuple[DevIdentityProvider, str],
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


async def test_oidc_sign_in_refuses_the_buyer_role(
    idp_and_console: tuple[DevIdentityProvider, str],
) -> None:
    idp, console_url = idp_and_console
    idp.claims = {
        "sub": "buyer-1",
        "https://example.com/orderlens/role": "buyer",
        "https://example.com/orderlens/shops": ["shop-1"],
    }
    async with httpx.AsyncClient(timeout=30) as client:
        done = await walk_sign_in(client, console_url)
        assert done.status_code == 403
        assert "names no seller role" in done.text
        assert SESSION_COOKIE not in client.cookies
