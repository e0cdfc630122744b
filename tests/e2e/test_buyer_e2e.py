"""The buyer pages in headless Chromium against order-ingest, query-api, the console, Kafka and
MongoDB: a buyer signs in from the mail outbox, reads the order center's tabs and counts, follows
an in-transit parcel and sees a carrier's new checkpoint arrive without a reload, sees an order
that moves change the order center's counts without a reload, and chooses their e-mails;
another buyer's order, and expired, tampered or spent links, are refused by the pages."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from console_stack import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS, SEED, Stack, console_stack, publish
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from orderlens.domain.buyer import BUYER_TAB_LABELS, BuyerTab
from orderlens.domain.status import OrderStatus, TrackingStatus
from orderlens.events import (
    CheckpointData,
    PackageUpdate,
    StatusChanged,
    StatusSource,
    encode,
    make_event,
)
from orderlens.roles import Role
from orderlens.signed_links import BuyerLink, LinkKind, sign_link
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed import SeedOrder, created_event, iter_orders, shop_ids
from orderlens_devtools.seed.generator import generate_order, status_events
from orderlens_query.settings import QueryApiSettings

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ZONE = "Asia/Tokyo"  # the buyer's browser: every time on the pages is read in it
# Orders the seed generates after the stack's own: a few in transit, the rest of every kind.
BUYER_ORDERS = [*range(SEED.orders, SEED.orders + 11), 74, 79]


@pytest_asyncio.fixture
async def outbox(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest_asyncio.fixture
async def stack(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
    tmp_path: Path,
    outbox: Path,
) -> AsyncIterator[Stack]:
    async with console_stack(
        kafka_bootstrap_servers,
        mongodb_uri,
        mongo_db_name,
        topic_names,
        unique_id,
        tmp_path / "exports",
        outbox=outbox,
    ) as running:
        yield running


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not await asyncio.to_thread(os.path.exists, CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap (installs Debian's chromium)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


def shot(name: str) -> str:
    folder = ARTEFACTS.parent / "buyer"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / f"{name}.png")


class BuyerData:
    """One buyer's orders, published to Kafka as order-ingest receives them: each order's
    snapshot, then its status changes (the carrier's checkpoints among them)."""

    def __init__(self, unique_id: str) -> None:
        self.user_id = f"e2e-buyer-{unique_id}"
        self.email = f"buyer-{unique_id}@example.com"
        self.orders: list[SeedOrder] = []
        for n in BUYER_ORDERS:
            order = generate_order(SEED, n)
            for snapshot in (order.initial, order.final):
                snapshot["user_id"] = self.user_id
                snapshot["buyer_email"] = self.email
            self.orders.append(order)

    @property
    def in_transit(self) -> list[SeedOrder]:
        return [o for o in self.orders if o.final["status"] == "IN_TRANSIT"]

    def token(self) -> str:
        value: str = mint_token(
            sub=f"buyer:{self.user_id}",
            role=Role.BUYER,
            shops=shop_ids(SEED),
            buyer_user_id=self.user_id,
            secret=LOCAL_DEV_SECRET,
        )
        return value

    async def publish(self, stack: Stack) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        await producer.start()
        try:
            for order in self.orders:
                event = created_event(order, final=True)
                await producer.send(stack.topics.created, encode(event), key=event.subject.encode())
                for change in status_events(order):
                    await producer.send(
                        stack.topics.status_changed, encode(change), key=change.subject.encode()
                    )
            await producer.flush()
        finally:
            await producer.stop()

    def checkpoints_published(self, order: SeedOrder) -> set[tuple[str, str]]:
        return {
            (c.at.astimezone(UTC).isoformat(), c.status.value)
            for e in status_events(order)
            if e.data.package
            for c in e.data.package.checkpoints
        }


async def me(stack: Stack, token: str, path: str = "/v1/me/orders", **params: str) -> Any:
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        response = await client.get(
            path, params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        return response.json()


async def stored(stack: Stack, buyer: BuyerData) -> None:
    """Wait until order-ingest stored every order and every published checkpoint."""
    token = buyer.token()

    async def done() -> bool:
        listed = await me(stack, token, limit="50")
        if len(listed["items"]) < len(buyer.orders):
            return False
        for order in buyer.in_transit:
            detail = await me(stack, token, f"/v1/me/orders/{order.order_id}")
            shown = {
                (datetime.fromisoformat(c["at"]).astimezone(UTC).isoformat(), c["status"])
                for p in detail["packages"]
                for c in p["checkpoints"]
            }
            if shown != buyer.checkpoints_published(order):
                return False
        return True

    await wait_for(done, 120, "order-ingest stored the buyer's orders and checkpoints", every=0.5)


def mails_to(outbox: Path, address: str) -> list[str]:
    texts = []
    for path in sorted(outbox.glob("*.eml")):
        mail = message_from_bytes(path.read_bytes())
        if mail["To"] == address:
            texts.append(mail.get_payload(decode=True).decode())  # type: ignore[union-attr]
    return texts


def link_in(text: str) -> str:
    return next(word for word in text.split() if word.startswith("http"))


async def new_buyer_context(browser: Browser, viewport: dict[str, int]) -> BrowserContext:
    return await browser.new_context(viewport=viewport, timezone_id=ZONE)  # type: ignore[arg-type]


def local(at: str) -> str:
    moment = datetime.fromisoformat(at).astimezone(ZoneInfo(ZONE))
    return f"{moment:%d %b %Y, %H:%M} JST"


async def request_mailed_link(page: Page, stack: Stack, outbox: Path, email: str) -> str:
    before = len(await asyncio.to_thread(mails_to, outbox, email))
    await page.goto(f"{stack.console_url}/buyer/signin")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_role("button", name="Send me a sign-in link").click()
    await expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    async def arrived() -> bool:
        return len(await asyncio.to_thread(mails_to, outbox, email)) > before

    await wait_for(arrived, 10, f"a sign-in mail to {email} in the outbox")
    return link_in((await asyncio.to_thread(mails_to, outbox, email))[-1])


async def fits(page: Page) -> bool:
    """Nothing sticks out sideways: the page scrolls only down (the tabs scroll inside)."""
    width: bool = await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    return width


async def tab_counts(page: Page) -> dict[str, tuple[str, int]]:
    shown: dict[str, tuple[str, int]] = {}
    for link in await page.locator("nav.tabs a[data-tab]").all():
        tab = await link.get_attribute("data-tab")
        count = await link.locator(".count").inner_text()
        label = (await link.inner_text()).rsplit(count, 1)[0].strip()
        shown[str(tab)] = (label, int(count))
    return shown


def carrier_event(
    order: SeedOrder, package: dict[str, Any], at: datetime, status: TrackingStatus, message: str
) -> Any:
    """What the status-tracker publishes when the carrier reports a new checkpoint."""
    return make_event(
        StatusChanged(
            order_id=order.order_id,
            shop_id=order.shop_id,
            occurred_at=at,
            source=StatusSource.CARRIER,
            package=PackageUpdate(
                package_id=package["package_id"],
                tracking_number=package["tracking_number"],
                tracking_status=status,
                checkpoints=[
                    CheckpointData(at=at, status=status, message=message, location="Leipzig, DE")
                ],
            ),
        ),
        source="tests/e2e",
        subject=order.order_id,
    )


async def test_a_buyer_follows_an_in_transit_order_from_the_mailed_link(
    stack: Stack, browser: Browser, outbox: Path, unique_id: str
) -> None:
    buyer = BuyerData(unique_id)
    await buyer.publish(stack)
    await stored(stack, buyer)
    token = buyer.token()

    context = await new_buyer_context(browser, PHONE)
    page = await context.new_page()
    url = await request_mailed_link(page, stack, outbox, buyer.email)
    # The link points at this console's landing page (query-api's one setting).
    assert url.startswith(f"{stack.console_url}/buyer/open?token=")
    await page.goto(url)
    await page.screenshot(path=shot("open-phone"), full_page=True)
    await page.get_by_role("button", name="Open my orders").click()
    await expect(page.get_by_role("heading", name="Your orders")).to_be_visible()

    # The tabs, in the Order Center's wording, with the API's counts for this buyer.
    center = await me(stack, token)
    assert [t["tab"] for t in center["tabs"]] == [t.value for t in BuyerTab]
    expected = {
        t["tab"]: (BUYER_TAB_LABELS[BuyerTab(t["tab"])], t["count"]) for t in center["tabs"]
    }
    assert await tab_counts(page) == expected
    assert expected["in_transit"][1] == len(buyer.in_transit)
    listed = await page.locator("li.order").evaluate_all("li => li.map(e => e.dataset.orderId)")
    assert listed == [o["id"] for o in center["items"]]
    # Nothing of the seller's console: no seller navigation, no seller-only field.
    for seller_path in ("/orders", "/analysis", "/exports"):
        await expect(page.locator(f"a[href='{seller_path}']")).to_have_count(0)
    await page.screenshot(path=shot("orders-phone"), full_page=True)
    assert await fits(page), "the order center is wider than a phone"

    # The keyboard reaches the In transit tab and opens it.
    in_transit_tab = page.locator("nav.tabs a[data-tab='in_transit']")
    await in_transit_tab.focus()
    await page.keyboard.press("Enter")
    await expect(in_transit_tab).to_have_attribute("aria-current", "page")
    api_in_transit = await me(stack, token, tab="in_transit")
    shown = await page.locator("li.order").evaluate_all("li => li.map(e => e.dataset.orderId)")
    assert shown == [o["id"] for o in api_in_transit["items"]]

    order = buyer.in_transit[0]
    await page.locator(f"li.order[data-order-id='{order.order_id}'] a").click()
    await expect(page.get_by_role("heading", name=f"Order {order.order_id}")).to_be_visible()
    detail = await me(stack, token, f"/v1/me/orders/{order.order_id}")
    [package] = detail["packages"]
    newest_first = list(reversed(package["checkpoints"]))
    times = page.locator("li.checkpoint time")
    await expect(times).to_have_text([local(c["at"]) for c in newest_first])
    await expect(page.locator(".tracking-number")).to_have_text(package["tracking_number"])
    await expect(page.get_by_label("Time zone of the times shown")).to_have_value(ZONE)
    content = await page.content()
    seller_note = order.final.get("seller_note")
    if seller_note:
        assert seller_note not in content
    for seller_only in ("Risk", "Seller note", "history"):
        assert seller_only not in content
    await page.screenshot(path=shot("order-phone"), full_page=True)
    assert await fits(page), "the order page is wider than a phone"
    wide = await context.new_page()
    await wide.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    await wide.goto(page.url)
    await wide.screenshot(path=shot("order-desktop"), full_page=True)
    await wide.goto(f"{stack.console_url}/buyer/orders")
    assert await tab_counts(wide) == expected
    await wide.screenshot(path=shot("orders-desktop"), full_page=True)
    await wide.close()

    # The seed's last checkpoint is months old: the parcel is stalled, and the page says so.
    stalled = page.get_by_role("region", name="No news from the carrier")
    await expect(stalled).to_contain_text(local(newest_first[0]["at"]))
    await expect(page.get_by_role("region", name="Delivery issue")).to_have_count(0)
    # Its estimate is months old too while it is still on its way (as after a restart with kept
    # data): the page says it is later than estimated, and what the estimate was.
    for estimate, where in (
        (detail["estimated_delivery_at"], page.locator(".status-line")),
        (package["estimated_delivery_at"], page.locator("article.package")),
    ):
        assert datetime.fromisoformat(estimate) < datetime.now(UTC)
        await expect(where).to_contain_text(f"Later than estimated (was {local(estimate)})")
    await expect(page.locator(".status-line")).not_to_contain_text("Estimated delivery")

    # A carrier's new checkpoint reaches the open page without a reload ...
    await expect(page.locator("body")).to_have_attribute("data-live", "ready")
    await page.evaluate("window.__sameDocument = true")
    at = datetime.now(UTC).replace(microsecond=0)
    await publish(
        stack.bootstrap,
        stack.topics.status_changed,
        carrier_event(order, package, at, TrackingStatus.IN_TRANSIT, "Arrived at the e2e hub"),
    )
    first = page.locator("li.checkpoint").first
    await expect(first).to_contain_text("Arrived at the e2e hub", timeout=30_000)
    await expect(first.locator("time")).to_have_text(local(at.isoformat()))
    await expect(page.locator("li.checkpoint")).to_have_count(len(newest_first) + 1)
    await expect(page.locator("#live")).to_have_text("New tracking update")
    await expect(stalled).to_have_count(0)  # it moved again
    await page.screenshot(path=shot("order-live-phone"), full_page=True)

    # ... and so does a delivery problem, as a message the buyer cannot miss.
    later = at + timedelta(minutes=5)
    await publish(
        stack.bootstrap,
        stack.topics.status_changed,
        carrier_event(order, package, later, TrackingStatus.EXCEPTION, "Address not found"),
    )
    issue = page.get_by_role("region", name="Delivery issue")
    await expect(issue).to_contain_text("reported a problem", timeout=30_000)
    await expect(first).to_contain_text("Address not found")
    await expect(page.locator(".tracking-state")).to_have_text("Delivery problem")
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    await page.screenshot(path=shot("order-issue-phone"), full_page=True)

    # Another buyer's order: not found, on the page and on its stream alike.
    others = [o.order_id for o in iter_orders(SEED)]
    response = await page.goto(f"{stack.console_url}/buyer/orders/{others[0]}")
    assert response is not None
    assert response.status == 404
    await expect(page.get_by_role("alert")).to_contain_text("no such order of yours")
    stream = await page.request.get(f"{stack.console_url}/buyer/orders/{others[0]}/stream")
    assert stream.status == 404
    await context.close()


async def test_expired_tampered_and_spent_links_are_refused_and_a_sellers_link_opens(
    stack: Stack, browser: Browser, outbox: Path, unique_id: str
) -> None:
    buyer = BuyerData(unique_id)
    buyer.orders = buyer.orders[:3]
    await buyer.publish(stack)
    await stored(stack, buyer)
    context = await new_buyer_context(browser, PHONE)
    page = await context.new_page()

    async def open_link(url: str) -> int:
        await page.goto(url)
        async with page.expect_response(re.compile(r"/buyer/open$")) as info:
            await page.get_by_role("button", name="Open my orders").click()
        return (await info.value).status

    incomplete = await page.goto(f"{stack.console_url}/buyer/open")
    assert incomplete is not None
    assert incomplete.status == 400
    await expect(page.get_by_role("alert")).to_contain_text("This link is incomplete")

    mailed = await request_mailed_link(page, stack, outbox, buyer.email)
    token = parse_qs(urlparse(mailed).query)["token"][0]
    payload, signature = token.split(".")
    flipped = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    base = f"{stack.console_url}/buyer/open?token="
    assert await open_link(base + flipped) == 401
    await expect(page.get_by_role("alert")).to_contain_text("This link is not valid")
    await page.screenshot(path=shot("link-tampered-phone"), full_page=True)

    expired = sign_link(
        BuyerLink(
            kind=LinkKind.SELLER,
            buyer_user_id=buyer.user_id,
            shops=tuple(shop_ids(SEED)),
            expires_at=int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()),
        ),
        QueryApiSettings().buyer_link_secret,
    )
    assert await open_link(base + expired) == 401
    await expect(page.get_by_role("alert")).to_contain_text("This link has expired")
    await expect(page.get_by_role("link", name="Get a new sign-in link")).to_be_visible()

    # The mailed link works once ...
    assert await open_link(mailed) == 303
    await expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="See your orders")).to_be_visible()
    assert (await page.goto(f"{stack.console_url}/buyer/orders")) is not None
    assert page.url.endswith("/buyer/signin")  # signed out: the orders are closed again
    assert await open_link(mailed) == 401
    await expect(page.get_by_role("alert")).to_contain_text("already been used")

    # ... and a seller's signed link opens this buyer's orders, and only theirs.
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as client:
        minted = await client.post(
            "/v1/buyer-links",
            json={"buyer_user_id": buyer.user_id, "ttl_hours": 1},
            headers={
                "Authorization": "Bearer "
                + mint_token(
                    sub="e2e-cs",
                    role=Role.CUSTOMER_SERVICE,
                    shops=shop_ids(SEED),
                    secret=LOCAL_DEV_SECRET,
                )
            },
        )
    assert minted.status_code == 201, minted.text
    seller_link = minted.json()["url"]
    assert seller_link.startswith(base)
    await open_link(seller_link)
    await expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    shown = await page.locator("li.order").evaluate_all("li => li.map(e => e.dataset.orderId)")
    assert sorted(shown) == sorted(o.order_id for o in buyer.orders)

    # The buyer picks another time zone: every time is shown in it from then on.
    first = page.locator("li.order").first
    created = await first.locator("time").first.get_attribute("datetime")
    assert created is not None
    await expect(first.locator("time").first).to_have_text(local(created))
    await page.get_by_label("Time zone of the times shown").fill("Europe/Berlin")
    await page.get_by_role("button", name="Change time zone").click()
    berlin = datetime.fromisoformat(created).astimezone(ZoneInfo("Europe/Berlin"))
    await expect(first.locator("time").first).to_have_text(
        f"{berlin:%d %b %Y, %H:%M} {berlin.tzname()}"
    )
    await context.close()


async def signed_in_buyer(
    stack: Stack, browser: Browser, outbox: Path, unique_id: str, orders: int | None = None
) -> tuple[BuyerData, BrowserContext, Page]:
    """A buyer with their orders stored, signed in from a mailed link on a phone-sized page."""
    buyer = BuyerData(unique_id)
    if orders is not None:
        buyer.orders = buyer.orders[:orders]
    await buyer.publish(stack)
    await stored(stack, buyer)
    context = await new_buyer_context(browser, PHONE)
    page = await context.new_page()
    await page.goto(await request_mailed_link(page, stack, outbox, buyer.email))
    await page.get_by_role("button", name="Open my orders").click()
    await expect(page.get_by_role("heading", name="Your orders")).to_be_visible()
    return buyer, context, page


def delivered_event(order: SeedOrder) -> Any:
    """What the shop's platform publishes when it reports an order delivered."""
    return make_event(
        StatusChanged(
            order_id=order.order_id,
            shop_id=order.shop_id,
            occurred_at=datetime.now(UTC).replace(microsecond=0),
            source=StatusSource.PLATFORM,
            status=OrderStatus.DELIVERED,
        ),
        source="tests/e2e",
        subject=order.order_id,
    )


async def test_an_order_that_moves_moves_the_order_centers_counts_without_a_reload(
    stack: Stack, browser: Browser, outbox: Path, unique_id: str
) -> None:
    buyer, context, page = await signed_in_buyer(stack, browser, outbox, unique_id)
    token = buyer.token()
    before = await tab_counts(page)
    assert before == {
        t["tab"]: (BUYER_TAB_LABELS[BuyerTab(t["tab"])], t["count"])
        for t in (await me(stack, token))["tabs"]
    }
    await expect(page.locator("body")).to_have_attribute("data-live", "ready")
    await page.evaluate("window.__sameDocument = true")

    # The shop's platform reports one of the in-transit orders delivered.
    first, second = buyer.in_transit[:2]
    row = page.locator(f"li.order[data-order-id='{first.order_id}'] .status")
    await expect(row).to_have_text("In transit")
    await publish(stack.bootstrap, stack.topics.status_changed, delivered_event(first))

    # Its row and the two groups' counts change together, on the same page.
    await expect(row).to_have_text("Received", timeout=30_000)
    in_transit, received = before["in_transit"][1], before["received"][1]
    in_transit_count = page.locator("nav.tabs [data-count='in_transit']")
    received_count = page.locator("nav.tabs [data-count='received']")
    await expect(in_transit_count).to_have_text(str(in_transit - 1))
    await expect(received_count).to_have_text(str(received + 1))
    after = await tab_counts(page)
    moved = {"in_transit", "received"}
    assert {k: v for k, v in after.items() if k not in moved} == {
        k: v for k, v in before.items() if k not in moved
    }
    await expect(page.locator("#live")).to_have_text("Your orders were updated")
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    await page.screenshot(path=shot("orders-live-phone"), full_page=True)

    # On the In transit tab, the page follows too and keeps its tab: the other order, once
    # delivered, leaves the list and the count.
    in_transit_tab = page.locator("nav.tabs a[data-tab='in_transit']")
    await in_transit_tab.click()
    await expect(in_transit_tab).to_have_attribute("aria-current", "page")
    await expect(page.locator("li.order")).to_have_count(in_transit - 1)
    await expect(page.locator("body")).to_have_attribute("data-live", "ready")
    await page.evaluate("window.__sameDocument = true")
    await publish(stack.bootstrap, stack.topics.status_changed, delivered_event(second))
    await expect(in_transit_count).to_have_text(str(in_transit - 2), timeout=30_000)
    await expect(received_count).to_have_text(str(received + 2))
    await expect(page.locator(f"li.order[data-order-id='{second.order_id}']")).to_have_count(0)
    await expect(in_transit_tab).to_have_attribute("aria-current", "page")
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    assert await fits(page), "the live order center is wider than a phone"
    await context.close()


async def test_a_buyer_chooses_their_emails_and_the_choice_is_kept(
    stack: Stack, browser: Browser, outbox: Path, unique_id: str
) -> None:
    buyer, context, page = await signed_in_buyer(stack, browser, outbox, unique_id, orders=2)
    await page.get_by_role("link", name="E-mails about your orders").click()
    await expect(page.get_by_role("heading", name="E-mails about your orders")).to_be_visible()
    choices = page.get_by_role("group", name="Send me an e-mail when")
    delivered = choices.get_by_label("My order has been delivered")
    shipped = choices.get_by_label("My order has shipped")
    # Nothing switched off yet: every e-mail is ticked.
    for box in await choices.get_by_role("checkbox").all():
        await expect(box).to_be_checked()
    assert await choices.get_by_role("checkbox").count() == 4
    assert await fits(page), "the e-mail choices are wider than a phone"
    await page.screenshot(path=shot("notifications-phone"), full_page=True)

    await delivered.uncheck()
    await page.get_by_role("button", name="Save my choices").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved")
    await page.reload()
    await expect(delivered).not_to_be_checked()
    await expect(shipped).to_be_checked()
    await page.screenshot(path=shot("notifications-saved-phone"), full_page=True)
    # Saved where the notifier reads it: the buyer's own preferences at query-api.
    prefs = await me(stack, buyer.token(), "/v1/me/notification-preferences")
    assert prefs["email"] == {
        "shipped": True,
        "out_for_delivery": True,
        "delivered": False,
        "delivery_issue": True,
    }

    # A field the form never offered is refused on the form, naming it; nothing is saved.
    csrf = await page.locator("form.prefs input[name=csrf_token]").input_value()
    refused = await page.request.post(
        f"{stack.console_url}/buyer/notifications",
        form={"csrf_token": csrf, "shipped": "on", "weekly_digest": "on"},
    )
    assert refused.status == 400
    await page.set_content(await refused.text())
    await expect(page.get_by_role("alert")).to_contain_text("weekly_digest")
    # Without the page's CSRF token the form is refused before anything is read.
    forged = await page.request.post(
        f"{stack.console_url}/buyer/notifications", form={"shipped": "on"}
    )
    assert forged.status == 403
    assert (await me(stack, buyer.token(), "/v1/me/notification-preferences")) == prefs
    await context.close()
