"""Outgoing webhook subscriptions (docs/contract.md §3.7; decision 0171): the use cases.

Admins only (the routes check the permission first); every call is limited to the token's
shops, and another shop's subscription is answered as unknown (404). The secret is made here,
answered once at creation (and at rotation), and never again: views show its hint only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderlens.events import EventType
from orderlens.tokens import Principal
from orderlens.webhooks import (
    EVENT_TYPES,
    SecretBox,
    Subscription,
    UrlRefused,
    check_url,
    new_secret,
    new_subscription_id,
    secret_hint,
)
from orderlens_query.adapters.webhook_store import WebhookStore
from orderlens_query.models.webhooks import (
    DeliveryOut,
    SubscriptionBody,
    SubscriptionPatch,
)
from orderlens_query.problems import ProblemError, ProblemException
from orderlens_query.settings import QueryApiSettings

MAX_SUBSCRIPTIONS = 100


def _not_found(subscription_id: str) -> ProblemException:
    return ProblemException(404, f"no webhook subscription {subscription_id} in your shops")


def _bad(field: str, message: str) -> ProblemException:
    return ProblemException(
        400,
        f"invalid request: {field}: {message}",
        errors=[ProblemError(param=field, message=message)],
    )


def _url(url: str, settings: QueryApiSettings) -> str:
    try:
        return check_url(
            url,
            allow_http=settings.webhook_allow_http,
            allow_internal=settings.webhook_allow_internal,
        )
    except UrlRefused as exc:
        raise _bad("body.url", str(exc)) from None


def _types(types: list[EventType]) -> tuple[EventType, ...]:
    unknown = [t.value for t in types if t not in EVENT_TYPES]
    if unknown:
        raise _bad("body.event_types", f"not a subscribable event type: {', '.join(unknown)}")
    return tuple(dict.fromkeys(types))


def _box(settings: QueryApiSettings) -> SecretBox:
    return SecretBox(settings.webhook_secret_keys.get_secret_value())


async def create_subscription(
    store: WebhookStore,
    principal: Principal,
    body: SubscriptionBody,
    settings: QueryApiSettings,
    now: datetime,
) -> tuple[Subscription, str]:
    """The stored subscription and its secret (to answer once)."""
    if body.shop_id not in principal.shops:
        raise ProblemException(404, f"no shop {body.shop_id} among your shops")
    if len(await store.of_shops([body.shop_id], MAX_SUBSCRIPTIONS)) >= MAX_SUBSCRIPTIONS:
        raise ProblemException(409, f"a shop has at most {MAX_SUBSCRIPTIONS} subscriptions")
    secret = new_secret()
    subscription = Subscription(
        id=new_subscription_id(),
        shop_id=body.shop_id,
        url=_url(body.url, settings),
        event_types=_types(body.event_types),
        secret_cipher=_box(settings).seal(secret),
        secret_hint=secret_hint(secret),
        active=True,
        description=body.description,
        created_at=now,
        updated_at=now,
        created_by=principal.sub,
    )
    await store.insert(subscription)
    return subscription, secret


async def list_subscriptions(store: WebhookStore, principal: Principal) -> list[Subscription]:
    return await store.of_shops(sorted(principal.shops), MAX_SUBSCRIPTIONS * len(principal.shops))


async def get_subscription(
    store: WebhookStore, principal: Principal, subscription_id: str
) -> Subscription:
    found = await store.get(subscription_id, sorted(principal.shops))
    if found is None:
        raise _not_found(subscription_id)
    return found


async def update_subscription(
    store: WebhookStore,
    principal: Principal,
    subscription_id: str,
    patch: SubscriptionPatch,
    settings: QueryApiSettings,
    now: datetime,
) -> Subscription:
    changes: dict[str, Any] = {"updated_at": now}
    if patch.url is not None:
        changes["url"] = _url(patch.url, settings)
    if patch.event_types is not None:
        changes["event_types"] = [t.value for t in _types(patch.event_types)]
    if patch.active is not None:
        changes["active"] = patch.active
    if patch.description is not None:
        changes["description"] = patch.description
    updated = await store.update(subscription_id, sorted(principal.shops), changes)
    if updated is None:
        raise _not_found(subscription_id)
    return updated


async def rotate_secret(
    store: WebhookStore,
    principal: Principal,
    subscription_id: str,
    settings: QueryApiSettings,
    now: datetime,
) -> tuple[Subscription, str]:
    """A new secret replaces the old one at once (the next attempt is signed with it)."""
    secret = new_secret()
    changes = {
        "secret_cipher": _box(settings).seal(secret),
        "secret_hint": secret_hint(secret),
        "updated_at": now,
    }
    updated = await store.update(subscription_id, sorted(principal.shops), changes)
    if updated is None:
        raise _not_found(subscription_id)
    return updated, secret


async def delete_subscription(
    store: WebhookStore, principal: Principal, subscription_id: str
) -> None:
    if not await store.delete(subscription_id, sorted(principal.shops)):
        raise _not_found(subscription_id)


async def list_deliveries(
    store: WebhookStore,
    principal: Principal,
    subscription_id: str,
    state: str | None,
    limit: int,
) -> list[DeliveryOut]:
    await get_subscription(store, principal, subscription_id)
    docs = await store.deliveries(subscription_id, state, limit)
    return [
        DeliveryOut(
            delivery_id=d["_id"],
            **{k: d.get(k) for k in DeliveryOut.model_fields if k != "delivery_id" and k in d},
        )
        for d in docs
    ]


async def replay(
    store: WebhookStore,
    principal: Principal,
    subscription_id: str,
    delivery_ids: list[str] | None,
    now: datetime,
) -> int:
    await get_subscription(store, principal, subscription_id)
    return await store.replay(subscription_id, now, delivery_ids)
