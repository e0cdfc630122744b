"""The console's error pages over real HTTP with query-api down (its URL a closed port): every
page answers a refusal with 403 and a query-api outage with its status on the error page, the
buyer pages in the buyer's wording (docs/decisions/0205)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from orderlens.roles import Role
from orderlens_console.app import create_app
from orderlens_console.sessions import (
    BUYER_COOKIE,
    SESSION_COOKIE,
    SessionCodec,
    new_buyer_session,
    new_session,
)
from orderlens_console.settings import ConsoleSettings
from orderlens_devtools.asgi import free_port, serve

pytestmark = pytest.mark.integration
SECRET = "test-session-secret-0123456789"
UNREACHABLE = "query-api is unreachable"


@pytest_asyncio.fixture
async def console_url() -> AsyncIterator[str]:
    # Nothing listens on this port: every call of query-api fails to connect.
    settings = ConsoleSettings(
        query_api_url=f"http://127.0.0.1:{free_port()}", session_secret=SECRET
    )
    async with serve(create_app(settings), free_port()) as url:
        yield url


def seller(role: Role) -> tuple[httpx.Cookies, str]:
    session = new_session(sub=f"it-{role}", name="It", role=role, shops=("shop-1",))
    cookies = httpx.Cookies()
    cookies.set(SESSION_COOKIE, SessionCodec(SECRET, 3600).dumps(session))
    return cookies, session.csrf


async def test_seller_pages_show_the_outage_and_refusals_on_the_error_page(
    console_url: str,
) -> None:
    admin, csrf = seller(Role.ADMIN)
    async with httpx.AsyncClient(base_url=console_url, cookies=admin, timeout=30) as client:
        for path in ("/orders/o-1", "/exports", "/exports/e-1", "/webhooks", "/inbox"):
            page = await client.get(path)
            assert page.status_code == 503, path
            assert "Something went wrong" in page.text, path
            assert UNREACHABLE in page.text, path
        # The subscription form cannot be shown again either: still the error page, not a 500.
        created = await client.post(
            "/webhooks",
            data={"csrf_token": csrf, "url": "https://example.com/hook", "event_types": "x"},
        )
        assert created.status_code == 503
        assert UNREACHABLE in created.text
        # A forged form token is refused whatever its text (a non-ASCII one was a 500).
        for forged in ("Ωmega", csrf[:-1]):
            refused = await client.post(
                "/webhooks",
                data={"csrf_token": forged, "url": "https://example.com/hook", "event_types": "x"},
            )
            assert refused.status_code == 403, (forged, refused.text[:200])
    service, _ = seller(Role.CUSTOMER_SERVICE)
    async with httpx.AsyncClient(base_url=console_url, cookies=service, timeout=30) as client:
        for path in ("/exports", "/analysis", "/webhooks"):
            page = await client.get(path)
            assert page.status_code == 403, path
            assert "Something went wrong" in page.text, path
            assert "may not" in page.text, path


async def test_buyer_pages_show_the_outage_in_the_buyers_words(console_url: str) -> None:
    session = new_buyer_session(
        buyer_user_id="b-1", api_token="t", expires_at=int(time.time()) + 600, tz="UTC"
    )
    cookies = httpx.Cookies()
    cookies.set(BUYER_COOKIE, SessionCodec(SECRET, 3600).dumps_buyer(session))
    async with httpx.AsyncClient(base_url=console_url, cookies=cookies, timeout=30) as client:
        for path in ("/buyer/orders", "/buyer/orders/o-1"):
            page = await client.get(path)
            assert page.status_code == 503, path
            assert "Your orders cannot be shown right now" in page.text, path
            assert UNREACHABLE not in page.text, path
