"""The seller inbox in headless Chromium: a delivery issue on Kafka goes through the notifier and
query-api to the console's nav badge and inbox page, where the seller marks it read."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from console_stack import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS, SEED, Stack, console_stack, publish
from playwright.async_api import Browser, async_playwright, expect

from orderlens.events import CheckpointData, PackageUpdate, StatusChanged, StatusSource, make_event
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.seed import shop_ids
from orderlens_notifier.app import build as build_notifier
from orderlens_notifier.settings import NotifierSettings

pytestmark = pytest.mark.e2e
# The console's dev sign-in user of the operations role (orderlens_console.service.DEMO_USERS).
SUB = "demo-operations"


@pytest_asyncio.fixture
async def stack(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topic_names: TopicNames,
    unique_id: str,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    notifier = build_notifier(
        NotifierSettings(
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            mongodb_uri=mongodb_uri,
            mongodb_database=mongo_db_name,
            topic_orders_created=topic_names.created,
            topic_status_changed=topic_names.status_changed,
            topic_export_completed=topic_names.export_completed,
            topic_dead_letter=topic_names.dead_letter,
            notifier_group_id=f"notifier-{unique_id}",
            notifier_exports_group_id=f"notifier-exports-{unique_id}",
            notifier_batch_timeout_ms=50,
            mail_outbox_dir=str(tmp_path / "outbox"),
            http_host="127.0.0.1",
            http_port=0,
            log_json=False,
        )
    )
    await notifier.start()
    try:
        async with console_stack(
            kafka_bootstrap_servers,
            mongodb_uri,
            mongo_db_name,
            topic_names,
            unique_id,
            tmp_path / "exports",
        ) as running:
            yield running
    finally:
        await notifier.stop()


def _chromium_installed() -> bool:
    return os.path.exists(CHROMIUM)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    if not _chromium_installed():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/bootstrap (installs Debian's chromium)")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def _inbox(stack: Stack, **params: str) -> dict[str, Any]:
    """What query-api answers the console's user (the same sub, role and shops)."""
    bearer = mint_token(
        sub=SUB, role=Role.OPERATIONS, shops=shop_ids(SEED), secret=LOCAL_DEV_SECRET
    )
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as client:
        response = await client.get(
            "/v1/inbox", params=params, headers={"Authorization": f"Bearer {bearer}"}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_badge_and_the_inbox_page_show_a_delivery_issue(
    stack: Stack, browser: Browser
) -> None:
    order = (await stack.api_get("/v1/orders", {"limit": "1"}))["items"][0]
    at = datetime.now(UTC)
    issue = make_event(
        StatusChanged(
            order_id=order["id"],
            shop_id=order["shop_id"],
            occurred_at=at,
            source=StatusSource.CARRIER,
            package=PackageUpdate(
                tracking_number="SIMEXC-E2E-1",
                tracking_status="EXCEPTION",
                checkpoints=[CheckpointData(at=at, status="EXCEPTION", message="Address unknown")],
            ),
        ),
        source="tests/e2e",
        subject=order["id"],
    )
    await publish(stack.bootstrap, stack.topics.status_changed, issue)

    async def arrived() -> bool:
        found = await _inbox(stack, kind="delivery_issue", order_id=order["id"])
        return bool(found["items"])

    await wait_for(arrived, 60, "the delivery issue in the user's inbox")
    unread = (await _inbox(stack))["unread"]
    assert unread >= 1

    page = await browser.new_page(viewport={"width": 390, "height": 844})
    await page.goto(f"{stack.console_url}/signin")
    await page.locator("button[data-role='operations']").click()
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    badge = page.locator("#inbox-badge")
    await expect(badge).to_have_text(str(unread))
    await expect(badge).to_be_visible()

    await page.get_by_role("link", name="Inbox").click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"{unread} unread")
    row = page.locator(
        f"li.inbox-item[data-kind='delivery_issue']:has(a[href='/orders/{order['id']}'])"
    )
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Delivery issue")
    await expect(row).to_contain_text("Address unknown")
    await expect(row).to_have_class("inbox-item unread")
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTEFACTS / "inbox.png"), full_page=True)

    await row.get_by_role("button", name="Mark read").click()
    await expect(page.get_by_role("status")).to_contain_text("Marked read")
    await expect(row).to_have_class("inbox-item read")
    await expect(badge).to_have_text(str(unread - 1) if unread > 1 else "0")
    assert (await _inbox(stack))["unread"] == unread - 1
    await row.get_by_role("link", name="Delivery issue").click()
    await expect(page).to_have_url(f"{stack.console_url}/orders/{order['id']}")
