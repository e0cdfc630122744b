"""The console's webhook pages (admins only): the use cases behind entrypoints/webhooks.py.

Everything goes through query-api, which checks the role and the shops again; the console
refuses other roles first so that they never see a form they cannot use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orderlens.roles import Permission, has_permission
from orderlens.webhooks import EVENT_TYPES
from orderlens_console.adapters.webhooks_api import WebhooksApi
from orderlens_console.service import Forbidden
from orderlens_console.sessions import Session

EVENT_CHOICES = [(t.value, t.value.removeprefix("orderlens.order.")) for t in EVENT_TYPES]


def _admin(session: Session) -> None:
    if not has_permission(session.role, Permission.MANAGE_WEBHOOKS):
        raise Forbidden(f"role {session.role.value} may not manage webhooks")


async def subscriptions(api: WebhooksApi, token: str, session: Session) -> list[dict[str, Any]]:
    _admin(session)
    return await api.subscriptions(token)


def subscription_body(form: dict[str, Any], event_types: list[str]) -> dict[str, Any]:
    return {
        "shop_id": str(form.get("shop_id", "")),
        "url": str(form.get("url", "")).strip(),
        "event_types": event_types,
        "description": str(form.get("description", ""))[:200],
    }


async def create(
    api: WebhooksApi, token: str, session: Session, body: dict[str, Any]
) -> dict[str, Any]:
    """The created subscription, with its secret: the console shows it once, now."""
    _admin(session)
    return await api.create(token, body)


@dataclass(frozen=True)
class SubscriptionView:
    subscription: dict[str, Any]
    parked: list[dict[str, Any]]
    pending: list[dict[str, Any]]


async def detail(
    api: WebhooksApi, token: str, session: Session, subscription_id: str
) -> SubscriptionView:
    _admin(session)
    return SubscriptionView(
        await api.get(token, subscription_id),
        await api.deliveries(token, subscription_id, "parked"),
        await api.deliveries(token, subscription_id, "pending"),
    )


async def replay(api: WebhooksApi, token: str, session: Session, subscription_id: str) -> int:
    _admin(session)
    return await api.replay(token, subscription_id)


async def set_active(
    api: WebhooksApi, token: str, session: Session, subscription_id: str, active: bool
) -> None:
    _admin(session)
    await api.update(token, subscription_id, {"active": active})
