"""Helpers of the webhook integration tests (imported by name: conftest is not a module)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from orderlens.webhooks import SUBSCRIPTIONS, Subscription
from orderlens_webhooks.app import WebhookDispatcher

StartDispatcher = Callable[..., Awaitable[WebhookDispatcher]]


async def add_subscriptions(db: Any, *subscriptions: Subscription) -> None:
    """As query-api stores them (it is the collection's writer)."""
    await db[SUBSCRIPTIONS].insert_many([s.document() for s in subscriptions])
