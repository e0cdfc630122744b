"""The console's webhook pages in headless Chromium: query-api, the console and the webhook
dispatcher over real HTTP, Kafka and MongoDB, and a real receiver. An admin subscribes the
receiver, sees the secret once, sees the failed deliveries parked, replays them; other roles
have no Webhooks link and are refused the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from console_stack import CHROMIUM, CHROMIUM_ARGS
from playwright.async_api import Browser, Page, async_playwright, expect

from orderlens.tokens import TrustedIssuer
from orderlens.waiting import wait_for
from orderlens_console.app import create_app as create_console
from orderlens_console.settings import ConsoleSettings
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.webhook_receiver import Receiver, order_created, publish, receivers
from orderlens_query.app import create_app as create_query_api
from orderlens_query.settings import QueryApiSettings
from orderlens_webhooks.app import build as build_dispatcher
from orderlens_webhooks.settings import DispatcherSettings

pytestmark = pytest.mark.e2e

SHOP = "webhook-shop-1"
API_AUDIENCE = "orderlens-query-api"
HAVE_CHROMIUM = Path(CHROMIUM).exists()


@dataclass
class Stack:
    console_url: str
    receiver: Receiver
    topics: TopicNames
    producer: AIOKafkaProducer


@pytest_asyncio.fixture
async def stack(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
) -> AsyncIterator[Stack]:
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap_servers,
        "mongodb_uri": mongodb_uri,
        "mongodb_database": mongo_db_name,
        "topic_orders_created": topic_names.created,
        "topic_status_changed": topic_names.status_changed,
        "topic_dead_letter": topic_names.dead_letter,
        "log_json": False,
        "http_port": 0,
        "webhook_allow_http": True,
        "webhook_allow_internal": True,
    }
    receiver = Receiver()
    dispatcher = build_dispatcher(
        DispatcherSettings(
            **common,
            webhook_group_id=f"webhooks-{unique_id}",
            webhook_retry_base_seconds=0.05,
            webhook_retry_cap_seconds=0.2,
            webhook_retry_max_age_seconds=1.0,
            webhook_poll_seconds=0.2,
            webhook_lease_seconds=3,
        ),
        replica="e2e",
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    await dispatcher.start()
    try:
        async with AsyncExitStack() as running:
            await running.enter_async_context(receivers(receiver))
            port = free_port()
            # query-api trusts the console's own tokens, as deployed (decision 0150).
            trusts_console = TrustedIssuer(
                issuer=f"http://localhost:{port}",
                jwks_url=f"http://127.0.0.1:{port}/.well-known/jwks.json",
                audience=API_AUDIENCE,
                max_lifetime_seconds=900,
            )
            query_api = create_query_api(
                QueryApiSettings(**common, jwt_trusted_issuers=(trusts_console,))
            )
            api_url = await running.enter_async_context(serve(query_api, free_port()))
            console = create_console(
                ConsoleSettings(
                    query_api_url=api_url,
                    public_url=f"http://localhost:{port}",
                    dev_sign_in=True,
                    dev_shops=SHOP,
                )
            )
            await running.enter_async_context(serve(console, port))
            yield Stack(f"http://localhost:{port}", receiver, topic_names, producer)
    finally:
        await dispatcher.stop()
        await producer.stop()


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not HAVE_CHROMIUM:
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap (installs Debian's chromium)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def sign_in(browser: Browser, stack: Stack, role: str) -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{stack.console_url}/signin")
    await page.locator(f"button[data-role='{role}']").click()
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    return page


async def test_an_admin_subscribes_sees_the_secret_once_and_replays_parked_deliveries(
    stack: Stack, browser: Browser
) -> None:
    page = await sign_in(browser, stack, "admin")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    await expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    await page.get_by_label("URL", exact=True).fill(stack.receiver.url)
    await page.get_by_label("Description").fill("e2e receiver")
    await page.get_by_role("button", name="Subscribe").click()
    secret = (await page.locator("#new-secret").inner_text()).strip()
    assert secret.startswith("whsec_")
    stack.receiver.secret = secret
    # Shown once: the subscription's own page (and the list) show the hint only.
    await page.get_by_role("link", name="← Webhooks").click()
    row = page.locator("table.webhooks tbody tr", has_text=stack.receiver.url)
    await expect(row).to_contain_text(f"whsec_…{secret[-4:]}")
    assert secret not in await page.content()
    await row.get_by_role("link").click()
    assert await page.locator("#new-secret").count() == 0
    assert secret not in await page.content()

    stack.receiver.status = 500  # the subscriber is down past the retry window
    event = order_created(f"{SHOP}-o1", SHOP)
    await publish(stack.producer, stack.topics.created, [event])

    async def parked_row_shown() -> bool:
        await page.reload()
        return await page.locator(f"table.parked tr[data-event-id='{event.id}']").count() == 1

    await wait_for(parked_row_shown, 30, "the parked delivery on the subscription page", every=0.5)
    await expect(page.locator("table.parked tbody tr")).to_contain_text("HTTP 500")

    stack.receiver.status = 200
    await page.get_by_role("button", name="Replay parked deliveries").click()
    await expect(page.get_by_role("status")).to_contain_text("1 parked deliveries queued again")

    async def delivered() -> bool:
        return event.id in stack.receiver.ids()

    await wait_for(delivered, 30, "the replayed delivery at the receiver")
    got = stack.receiver.accepted[-1]
    assert got.signature_valid, "signed with the secret the page showed"
    assert got.body["id"] == event.id

    async def no_parked_left() -> bool:
        await page.reload()
        return await page.locator("#no-parked").count() == 1

    await wait_for(no_parked_left, 30, "the parked list emptied", every=0.5)


@pytest.mark.parametrize("role", ["operations", "customer_service", "analyst"])
async def test_other_roles_have_no_webhooks_link_and_are_refused(
    stack: Stack, browser: Browser, role: str
) -> None:
    page = await sign_in(browser, stack, role)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Orders")).to_be_visible()
    assert await nav.get_by_role("link", name="Webhooks").count() == 0
    answer = await page.goto(f"{stack.console_url}/webhooks")
    assert answer is not None
    assert answer.status == 403
    await expect(page.locator("body")).to_contain_text("may not manage webhooks")
