"""The seller console in headless Chromium against order-ingest, query-api, Kafka and MongoDB."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from console_stack import (
    ARTEFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    SEED,
    Stack,
    console_stack,
    idp_claims,
    publish,
    publish_created,
    token,
)
from playwright.async_api import Browser, Page, async_playwright, expect

from orderlens.domain.status import OrderStatus
from orderlens.events import StatusChanged, StatusSource, make_event
from orderlens.roles import Role
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed.generator import generate_order

pytestmark = pytest.mark.e2e


@pytest_asyncio.fixture
async def stack(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    async with console_stack(
        kafka_bootstrap_servers,
        mongodb_uri,
        mongo_db_name,
        topic_names,
        unique_id,
        tmp_path / "exports",
    ) as running:
        yield running


@pytest_asyncio.fixture
async def prod_stack(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    async with console_stack(
        kafka_bootstrap_servers,
        mongodb_uri,
        mongo_db_name,
        topic_names,
        unique_id,
        tmp_path / "exports",
        production=True,
    ) as running:
        yield running


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not __import__("os").path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap (installs Debian's chromium)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def sign_in(browser: Browser, stack: Stack, role: Role) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{stack.console_url}/signin")
    await page.locator(f"button[data-role='{role.value}']").click()
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    return page


def shot(name: str) -> str:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTEFACTS / f"{name}.png")


async def shown_ids(page: Page) -> list[str]:
    return await page.locator("table.orders tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.orderId)"
    )


async def test_to_ship_with_dates_and_a_product_shows_exactly_the_apis_orders(
    stack: Stack, browser: Browser
) -> None:
    to_ship = (await stack.api_get("/v1/orders", {"view": "to_ship", "limit": "200"}))["items"]
    assert to_ship, "the seed has orders to ship"
    product = to_ship[0]["product_names"][0].split()[0]
    created = sorted(o["created_at"][:10] for o in to_ship)
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await page.screenshot(path=shot("orders"), full_page=True)
    await page.get_by_role("link", name="To ship").click()
    await page.locator("summary", has_text="Filters").click()
    await page.get_by_label("From (date)").fill(created[0])
    await page.get_by_label("To (date)").fill(created[-1])
    await page.get_by_label("Product name").fill(product)
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.get_by_label("Product name")).to_have_value(product)
    assert "view=to_ship" in page.url
    assert f"product={product}" in page.url

    expected = await stack.api_get(
        "/v1/orders",
        [
            ("view", "to_ship"),
            ("created_from", created[0]),
            ("created_to", created[-1]),
            ("product", product),
        ],
    )
    assert expected["items"], "the filters match some orders"
    assert await shown_ids(page) == [o["id"] for o in expected["items"]]
    await page.screenshot(path=shot("orders-filtered"), full_page=True)


async def test_shipping_an_order_moves_it_from_to_ship_to_shipped(
    stack: Stack, browser: Browser
) -> None:
    to_ship = (await stack.api_get("/v1/orders", {"view": "to_ship", "limit": "200"}))["items"]
    order_id = next(o["id"] for o in to_ship if o["status"] == "AWAITING_SHIPMENT")
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await page.goto(f"{stack.console_url}/orders/{order_id}")
    await page.screenshot(path=shot("order-detail"), full_page=True)
    # A colleague has the same order open in another tab (the page still offers Ship there).
    stale = await sign_in(browser, stack, Role.OPERATIONS)
    await stale.goto(f"{stack.console_url}/orders/{order_id}")
    await page.get_by_label("Carrier").fill("USPS")
    await page.get_by_label("Tracking number").fill("9400111899223344556677")
    await page.get_by_role("button", name="Ship").click()
    await expect(page.get_by_role("status")).to_contain_text("ship requested")

    async def in_shipped() -> bool:
        await page.goto(f"{stack.console_url}/orders?view=shipped")
        return order_id in await shown_ids(page)

    await wait_for(in_shipped, 60, "the shipped order reaches the Shipped tab", every=0.5)
    await page.goto(f"{stack.console_url}/orders?view=to_ship")
    assert order_id not in await shown_ids(page)
    await page.goto(f"{stack.console_url}/orders/{order_id}")
    await expect(page.locator(".tracking")).to_have_text("9400111899223344556677")
    # A shipped order offers no action its status forbids ...
    for name in ("Confirm", "Ship"):
        await expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)
    # ... and the colleague's stale tab, shipping it again, gets the API's 409 as a message.
    await stale.get_by_label("Carrier").fill("DHL")
    await stale.get_by_label("Tracking number").fill("JD0000000000000001")
    await stale.get_by_role("button", name="Ship").click()
    await expect(stale.get_by_role("alert")).to_contain_text("The order could not be changed")


async def test_exporting_the_current_view_as_csv_downloads_the_same_orders(
    stack: Stack, browser: Browser
) -> None:
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await page.get_by_role("link", name="Shipped").click()
    await page.get_by_role("link", name="Export this view").click()
    await expect(page.get_by_text("view=shipped")).to_be_visible()
    await page.get_by_label("Format").select_option("csv")
    await page.get_by_label("Rows").select_option("order")
    await page.get_by_role("button", name="Start export").click()
    await expect(page.locator(".export-status")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    await page.screenshot(path=shot("export"), full_page=True)
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download").click()
    download = await info.value
    saved = await download.path()
    content = await asyncio.to_thread(Path(saved).read_text, encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(content, newline="")))
    exported = {row[header.index("Order ID")] for row in rows}

    listed = await stack.api_get("/v1/orders", {"view": "shipped", "limit": "200"})
    assert listed["next_cursor"] is None
    assert listed["items"], "the seed has shipped orders"
    assert exported == {o["id"] for o in listed["items"]}
    await page.goto(f"{stack.console_url}/exports")
    await expect(page.locator("table.exports tbody tr")).to_have_count(1)
    await page.screenshot(path=shot("exports"), full_page=True)


async def test_a_new_order_published_to_kafka_appears_without_a_reload(
    stack: Stack, browser: Browser
) -> None:
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await expect(page.locator("body")).to_have_attribute("data-live", "ready")
    before = await shown_ids(page)
    newcomer = generate_order(SEED, SEED.orders)  # the seed's next order: not published yet
    assert newcomer.order_id not in before
    await publish_created(stack.bootstrap, stack.topics.created, newcomer)
    await expect(page.locator(f"tr[data-order-id='{newcomer.order_id}']")).to_be_visible()
    await expect(page.locator("#live")).to_contain_text(f"New order {newcomer.order_id}")
    await page.screenshot(path=shot("orders-live"), full_page=True)
    assert (await shown_ids(page))[1:] == before  # the page was not reloaded


async def test_sorting_by_paid_time_shows_the_apis_order(stack: Stack, browser: Browser) -> None:
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await page.get_by_text("Filters", exact=True).click()
    await page.get_by_label("Sort by").select_option("-paid_at")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page).to_have_url(re.compile(r"sort=-paid_at"))
    listed = await stack.api_get("/v1/orders", {"sort": "-paid_at"})
    assert listed["items"], "the seed has orders"
    assert await shown_ids(page) == [o["id"] for o in listed["items"]]
    created = await stack.api_get("/v1/orders", {})
    assert [o["id"] for o in created["items"]] != [o["id"] for o in listed["items"]], (
        "the seed orders paid and created alike: the test would prove nothing"
    )


async def badge(page: Page, view: str) -> int:
    return int(await page.locator(f"[data-count='{view}']").inner_text())


async def test_a_status_change_on_kafka_moves_the_row_out_of_to_ship_live(
    stack: Stack, browser: Browser
) -> None:
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await page.get_by_role("link", name="To ship").click()
    await expect(page.locator("body")).to_have_attribute("data-live", "ready")
    before = await shown_ids(page)
    assert len(before) >= 2, "the seed has orders to ship"
    leaving = before[0]
    to_ship, shipped = await badge(page, "to_ship"), await badge(page, "shipped")
    order = await stack.api_get(f"/v1/orders/{leaving}")
    event = make_event(
        StatusChanged(
            order_id=leaving,
            shop_id=order["shop_id"],
            occurred_at=datetime.now(UTC),
            source=StatusSource.CARRIER,
            status=OrderStatus.IN_TRANSIT,
        ),
        source="e2e",
        subject=leaving,
    )
    await publish(stack.bootstrap, stack.topics.status_changed, event)

    await expect(page.locator(f"tr[data-order-id='{leaving}']")).to_have_count(0)
    await expect(page.locator("[data-count='to_ship']")).to_have_text(str(to_ship - 1))
    await expect(page.locator("[data-count='shipped']")).to_have_text(str(shipped + 1))
    await expect(page.locator("#live")).to_contain_text(f"Order {leaving} is now In transit")
    assert await shown_ids(page) == before[1:]  # moved live, not reloaded


async def test_analysis_draws_sales_with_the_comparison_and_the_apis_figures(
    stack: Stack, browser: Browser
) -> None:
    window = {"from": "2026-03-22", "to": "2026-04-01", "tz": "UTC"}  # compared: 03-11..21
    sales = await stack.api_get(
        "/v1/stats/sales", {**window, "interval": "week", "compare": "previous_period"}
    )
    assert sales["currencies"], "the seed has paid orders in the window"
    page = await sign_in(browser, stack, Role.ANALYST)
    await page.get_by_role("link", name="Analysis").click()
    await page.get_by_label("From", exact=True).fill(window["from"])
    await page.get_by_label("To", exact=True).fill(window["to"])
    await page.get_by_label("Interval").select_option("week")
    await page.get_by_role("button", name="Show").click()
    first = sales["currencies"][0]
    await expect(page.locator("canvas.sales-chart").first).to_have_attribute("data-drawn", "true")
    # The comparison window is drawn beside this one, period by period, from the API's figures.
    previous = await stack.api_get(
        "/v1/stats/sales",
        {
            "from": sales["comparison_from"],
            "to": sales["comparison_to"],
            "tz": "UTC",
            "interval": "week",
        },
    )
    drawn = await page.locator("canvas.sales-chart").first.evaluate(
        "c => Object.fromEntries(Chart.getChart(c).data.datasets.map(d => [d.label, d.data]))"
    )
    before = next((c for c in previous["currencies"] if c["currency"] == first["currency"]), None)
    assert before is not None, "the comparison window had sales: the check proves something"
    expected = [float(p["gross"]) for p in before["periods"]][: len(first["periods"])]
    assert drawn["Gross, comparison"][: len(expected)] == expected
    assert any(expected), "the comparison window had sales: the check proves something"
    totals = page.locator("table.sales-totals").first.locator("tbody tr").first
    await expect(totals.locator("td").first).to_have_text(str(first["totals"]["orders"]))
    await expect(totals.locator("td").nth(2)).to_have_text(first["totals"]["gross"])
    await expect(page.get_by_role("heading", name="Delivery per carrier")).to_be_visible()
    await page.screenshot(path=shot("analysis"), full_page=True)


async def test_analyst_sees_masked_names_and_no_actions_customer_service_no_stats(
    stack: Stack, browser: Browser
) -> None:
    full = (await stack.api_get("/v1/orders", {"limit": "5"}, Role.OPERATIONS))["items"]
    analyst = await sign_in(browser, stack, Role.ANALYST)
    names = await analyst.locator("table.orders tbody td.buyer").all_inner_texts()
    assert names
    assert not {o["recipient"]["name"] for o in full} & {n.split("\n")[0] for n in names}
    await analyst.goto(f"{stack.console_url}/orders/{full[0]['id']}")
    await expect(analyst.locator(".recipient-name")).not_to_have_text(full[0]["recipient"]["name"])
    for name in ("Confirm", "Ship", "Cancel order"):
        await expect(analyst.get_by_role("button", name=name)).to_have_count(0)
    await analyst.screenshot(path=shot("order-detail-analyst"), full_page=True)
    assert await analyst.get_by_role("link", name="Analysis").count() == 1

    service = await sign_in(browser, stack, Role.CUSTOMER_SERVICE)
    nav = service.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Orders")).to_be_visible()
    await expect(nav.get_by_role("link", name="Analysis")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Exports")).to_have_count(0)
    # ... and the pages themselves refuse customer service when called directly.
    for path in ("/analysis", "/exports"):
        response = await service.goto(f"{stack.console_url}{path}")
        assert response is not None
        assert response.status == 403, path


async def test_forged_session_missing_csrf_and_forbidden_action_are_refused(
    stack: Stack, browser: Browser
) -> None:
    order_id = (await stack.api_get("/v1/orders", {"view": "to_ship", "limit": "1"}))["items"][0][
        "id"
    ]
    page = await sign_in(browser, stack, Role.ANALYST)
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    session = cookies["orderlens_session"]
    csrf = await page.locator("form.signout input[name=csrf_token]").input_value()
    async with httpx.AsyncClient(base_url=stack.console_url, timeout=30) as client:
        # An edited cookie is no session: the console sends the browser to sign in.
        forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
        response = await client.get("/orders", cookies={"orderlens_session": forged})
        assert response.status_code == 303
        assert response.headers["location"] == "/signin"

        # A state-changing request without the CSRF token is refused.
        response = await client.post(
            f"/orders/{order_id}/confirm", cookies={"orderlens_session": session}, data={}
        )
        assert response.status_code == 403
        assert "CSRF" in response.text

        # An analyst calling ship directly, with a valid CSRF token, is refused too.
        response = await client.post(
            f"/orders/{order_id}/ship",
            cookies={"orderlens_session": session},
            data={"csrf_token": csrf, "carrier": "USPS", "tracking_number": "X1234567"},
        )
        assert response.status_code == 403
        assert "may not ship" in response.text
    detail = await stack.api_get(f"/v1/orders/{order_id}")
    assert detail["packages"] == [] or all(
        p["tracking_number"] != "X1234567" for p in detail["packages"]
    )


async def test_dev_sign_in_is_refused_unless_enabled() -> None:
    from orderlens_console.app import create_app
    from orderlens_console.settings import ConsoleSettings

    app = create_app(ConsoleSettings(dev_sign_in=False, dev_shops="1"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        page = await client.get("/signin")
        assert "Development sign-in" not in page.text
        csrf = page.cookies["orderlens_signin_csrf"]
        response = await client.post("/signin/dev", data={"sub": "demo-admin", "csrf_token": csrf})
        assert response.status_code == 403
        assert "orderlens_session" not in response.cookies


async def test_orders_page_fits_a_phone_and_is_keyboard_navigable(
    stack: Stack, browser: Browser
) -> None:
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.reload()
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, "the page scrolls sideways at phone width (only the table may)"
    unlabelled = await page.locator("input:not([type=hidden]), select").evaluate_all(
        "els => els.filter(e => !(e.labels && e.labels.length)).map(e => e.name)"
    )
    assert unlabelled == []
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")
    focused = await page.evaluate("document.activeElement.closest('main') !== null")
    assert focused, "after skipping, the next Tab lands in the page's content"
    await page.screenshot(path=shot("orders-phone"), full_page=True)


async def test_in_production_an_oidc_user_loads_orders_with_the_consoles_own_token(
    prod_stack: Stack, browser: Browser
) -> None:
    """query-api as in deploy/k8s/overlays/prod: RS256/ES256 only, from the identity provider's
    JWKS and the console's (JWT_TRUSTED_ISSUERS), no shared secret (docs/decisions/0150)."""
    assert prod_stack.idp is not None
    async with httpx.AsyncClient(base_url=prod_stack.api_url, timeout=30) as client:
        refused = await client.get(
            "/v1/orders", headers={"Authorization": f"Bearer {token(Role.ADMIN)}"}
        )
        assert refused.status_code == 401, "a token signed with the local secret is refused"
    prod_stack.idp.claims = idp_claims(Role.OPERATIONS)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{prod_stack.console_url}/signin")
    await expect(page.locator("button[data-role]")).to_have_count(0)  # no demo sign-in
    await page.screenshot(path=shot("signin-production"), full_page=True)
    await page.get_by_role("link", name="Sign in with your company account").click()
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    await expect(page.locator(".who")).to_contain_text("operations")
    expected = await prod_stack.api_get("/v1/orders", {"view": "to_ship"}, Role.OPERATIONS)
    assert expected["items"], "the seed has orders to ship"
    await page.get_by_role("link", name="To ship").click()
    await expect(page.locator("table.orders")).to_have_attribute("data-view", "to_ship")
    assert await shown_ids(page) == [o["id"] for o in expected["items"]]
    # The console never saw an access token from the provider: it called query-api with the
    # token it signed itself, for a detail page and an action alike.
    order_id = expected["items"][0]["id"]
    await page.goto(f"{prod_stack.console_url}/orders/{order_id}")
    await expect(page.get_by_role("heading", name=re.compile(order_id))).to_be_visible()
    await page.screenshot(path=shot("orders-production-sign-in"), full_page=True)


BUYER_WORDING = ("Received", "Waiting for delivery", "Returns/Refund")


async def test_every_seller_page_uses_the_seller_tabs_and_status_words(
    stack: Stack, browser: Browser
) -> None:
    finished = [
        o
        for view in ("delivered", "completed")
        for o in (await stack.api_get("/v1/orders", {"view": view, "limit": "5"}))["items"]
    ]
    assert finished, "the seed has delivered or completed orders (the buyer calls them Received)"
    page = await sign_in(browser, stack, Role.ADMIN)
    tabs = page.get_by_role("navigation", name="Status tabs").get_by_role("link")
    labels = [t.split()[0:-1] for t in await tabs.all_inner_texts()]
    assert [" ".join(words) for words in labels] == [
        "Unpaid",
        "To ship",
        "Shipped",
        "Delivered",
        "Completed",
        "Cancelled",
        "Returns",
    ]
    seen = []
    for path in (
        "/orders",
        *(f"/orders?view={v}" for v in ("unpaid", "to_ship", "shipped", "delivered", "completed")),
        *(f"/orders/{o['id']}" for o in finished[:2]),
        "/exports",
        "/analysis?from=2026-03-10&to=2026-04-01",
    ):
        await page.goto(f"{stack.console_url}{path}")
        text = await page.locator("main").inner_text()
        for words in BUYER_WORDING:
            assert words not in text, f"{path} shows the buyer's wording {words!r}"
        seen.append(path)
    order = finished[0]
    await page.goto(f"{stack.console_url}/orders/{order['id']}")
    expected = {"DELIVERED": "Delivered", "COMPLETED": "Completed"}[order["status"]]
    await expect(page.locator("h1 .status")).to_have_text(expected)
    await page.goto(f"{stack.console_url}/orders?view={order['view']}")
    cell = page.locator(f"tr[data-order-id='{order['id']}'] td.status")
    await expect(cell).to_have_text(expected)
    assert len(seen) == 10


def zone_text(iso: str, zone: str) -> str:
    from orderlens_console.formatting import localtime

    return localtime(iso, zone)


async def test_times_show_in_the_chosen_zone_and_dates_are_read_there(
    stack: Stack, browser: Browser
) -> None:
    zone = "America/Los_Angeles"
    listed = (await stack.api_get("/v1/orders", {"limit": "200"}))["items"]
    page = await sign_in(browser, stack, Role.OPERATIONS)
    first = page.locator("table.orders tbody tr").first.locator("time")
    await expect(first).to_have_text(zone_text(listed[0]["created_at"], "UTC"))
    # The zone suggestions come once the field is focused, not with the page (decision 0201).
    suggestions = page.locator("#zone-names option")
    assert await suggestions.count() == 0
    await page.get_by_label("Times in").focus()
    await expect(page.locator(f"#zone-names option[value='{zone}']")).to_have_count(1)
    assert await suggestions.count() > 300
    await page.get_by_label("Times in").fill(zone)
    await page.get_by_role("button", name="Set zone").click()
    await expect(page.locator(".view-zone").first).to_have_text(zone)
    assert "tz=" not in page.url, "the user's zone is a preference, not a filter"
    await expect(first).to_have_text(zone_text(listed[0]["created_at"], zone))
    assert re.search(r" P[DS]T$", await first.inner_text())
    assert "T" not in (await first.inner_text()).split()[0][4:], "no raw ISO string"

    # A day read in Los Angeles is not the UTC day: pick one where the two differ.
    days = sorted({o["created_at"][:10] for o in listed})
    chosen = None
    for day in days:
        window = [("created_from", day), ("created_to", day)]
        local = await stack.api_get("/v1/orders", [*window, ("tz", zone)])
        utc = await stack.api_get("/v1/orders", window)
        if local["items"] and [o["id"] for o in local["items"]] != [o["id"] for o in utc["items"]]:
            chosen = (day, local["items"])
            break
    assert chosen, "no day whose orders differ between UTC and Los Angeles: the test proves nothing"
    day, expected = chosen
    await page.locator("summary", has_text="Filters").click()
    await page.get_by_label("From (date)").fill(day)
    await page.get_by_label("To (date)").fill(day)
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page.get_by_label("From (date)")).to_have_value(day)
    assert await shown_ids(page) == [o["id"] for o in expected]
    await page.goto(f"{stack.console_url}/orders/{expected[0]['id']}")
    created = page.locator("time[data-field='created_at']")
    await expect(created).to_have_text(zone_text(expected[0]["created_at"], zone))
    await page.screenshot(path=shot("order-detail-zone"), full_page=True)


async def test_repeatable_filters_and_a_pasted_id_tracking_number_or_email(
    stack: Stack, browser: Browser
) -> None:
    listed = (await stack.api_get("/v1/orders", {"limit": "200"}))["items"]
    statuses = sorted({o["status"] for o in listed})
    assert len(statuses) >= 3, "the seed has orders in several statuses"
    wanted = statuses[:2]
    countries = sorted(
        {o["recipient"]["country_code"] for o in listed if o["recipient"].get("country_code")}
    )
    page = await sign_in(browser, stack, Role.OPERATIONS)
    await page.locator("summary", has_text="Filters").click()
    await page.get_by_label("Status", exact=True).select_option(wanted)
    await page.get_by_label("Country").fill(", ".join(countries[:2]))
    await page.get_by_role("button", name="Apply filters").click()
    await expect(page).to_have_url(re.compile("status=" + wanted[1]))
    assert all(f"status={s}" in page.url for s in wanted)
    expected = await stack.api_get(
        "/v1/orders",
        [*(("status", s) for s in wanted), *(("country", c) for c in countries[:2])],
    )
    shown = await shown_ids(page)
    assert shown == [o["id"] for o in expected["items"]]
    assert {o["status"] for o in expected["items"]} == set(wanted), "any of the statuses"
    # The bookmarked URL gives the same view, with the fields filled in.
    await page.goto(page.url)
    assert await shown_ids(page) == shown
    selected = await page.get_by_label("Status", exact=True).evaluate(
        "s => Array.from(s.selectedOptions).map(o => o.value)"
    )
    assert selected == wanted
    await page.screenshot(path=shot("orders-repeatable-filters"), full_page=True)

    tracked = next(o for o in listed if o["tracking_numbers"])
    mailed = next(o for o in listed if o["buyer"].get("email"))
    for pasted, order in (
        (f"  {tracked['tracking_numbers'][0]} ", tracked),
        (mailed["buyer"]["email"], mailed),
        (listed[-1]["id"], listed[-1]),
    ):
        await page.goto(f"{stack.console_url}/orders")
        await page.get_by_label("Order id, tracking number or buyer e-mail").fill(pasted)
        await page.get_by_role("button", name="Find").click()
        await expect(page.locator(f"tr[data-order-id='{order['id']}']")).to_be_visible()
        found = await stack.api_get("/v1/orders", {"q": pasted.strip()})
        assert await shown_ids(page) == [o["id"] for o in found["items"]]
