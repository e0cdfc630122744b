"""Static files are named by their content's version on every page and cached until they change;
the zone names are not sent with every page (docs/decisions/0201)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from orderlens_console.app import create_app
from orderlens_console.formatting import ZONE_NAMES
from orderlens_console.settings import ConsoleSettings

pytestmark = pytest.mark.unit


@pytest.fixture
async def console() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ConsoleSettings(dev_sign_in=True, shops=("shop-1",)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def test_a_page_names_each_asset_by_version_and_that_version_is_cached_for_good(
    console: httpx.AsyncClient,
) -> None:
    page = await console.get("/signin")
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert {u.split("?")[0] for u in urls} >= {"/static/console.css", "/static/inbox.js"}
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        cached = await console.get(url)
        assert cached.status_code == 200
        assert cached.headers["cache-control"] == "public, max-age=31536000, immutable"
    bare = await console.get("/static/console.css")
    assert bare.headers["cache-control"] == "no-cache"
    stale = await console.get("/static/console.css?v=000000000000")
    assert stale.headers["cache-control"] == "no-cache"


async def test_zone_names_come_on_request_not_with_each_page(console: httpx.AsyncClient) -> None:
    names = await console.get("/time-zones.json")
    assert names.json() == list(ZONE_NAMES)
    assert "Europe/Berlin" in names.json()
    assert "max-age" in names.headers["cache-control"]
    script = await console.get("/static/zones.js")
    assert "/time-zones.json" in script.text
