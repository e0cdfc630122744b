"""Webhook subscriptions (decision 0121): query-api writes `webhook_subscriptions`, the notifier
reads them and alone writes `webhook_deliveries`, which this module only reads. A replay is a
request stamped on the subscription (`replay_requested_at`) that the notifier carries out."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from orderlens.mongo import Document
from orderlens.tokens import Principal
from orderlens_query.models.webhooks import (
    DeliveryOut,
    WebhookBody,
    WebhookCreated,
    WebhookOut,
)

SUBSCRIPTIONS = "webhook_subscriptions"
DELIVERIES = "webhook_deliveries"
MAX_LISTED = 500


def _out(doc: Document) -> WebhookOut:
    fields = {k: doc.get(k) for k in WebhookOut.model_fields if k != "id"}
    return WebhookOut.model_validate({**fields, "id": doc["_id"]})


async def create(
    db: AsyncDatabase[Document], principal: Principal, body: WebhookBody, now: datetime
) -> WebhookCreated | None:
    if body.shop_id not in principal.shops:
        return None
    doc: dict[str, Any] = {
        "_id": f"wh_{secrets.token_hex(8)}",
        "shop_id": body.shop_id,
        "url": str(body.url),
        "event_types": [t.value for t in body.event_types],
        "secret": body.secret or secrets.token_urlsafe(32),
        "created_at": now,
        "created_by": principal.sub,
    }
    await db[SUBSCRIPTIONS].insert_one(doc)
    return WebhookCreated(**_out(doc).model_dump(), secret=doc["secret"])


async def list_subscriptions(db: AsyncDatabase[Document], principal: Principal) -> list[WebhookOut]:
    cursor = db[SUBSCRIPTIONS].find({"shop_id": {"$in": list(principal.shops)}}).limit(MAX_LISTED)
    return [_out(doc) async for doc in cursor]


async def _owned(db: AsyncDatabase[Document], principal: Principal, sub_id: str) -> Document | None:
    doc = await db[SUBSCRIPTIONS].find_one({"_id": sub_id})
    if doc is None or doc.get("shop_id") not in principal.shops:
        return None
    return doc


async def delete(db: AsyncDatabase[Document], principal: Principal, sub_id: str) -> bool:
    if await _owned(db, principal, sub_id) is None:
        return False
    await db[SUBSCRIPTIONS].delete_one({"_id": sub_id})
    return True


async def request_replay(
    db: AsyncDatabase[Document], principal: Principal, sub_id: str, now: datetime
) -> bool:
    if await _owned(db, principal, sub_id) is None:
        return False
    await db[SUBSCRIPTIONS].update_one({"_id": sub_id}, {"$set": {"replay_requested_at": now}})
    return True


async def deliveries(
    db: AsyncDatabase[Document], principal: Principal, sub_id: str, state: str
) -> list[DeliveryOut] | None:
    if await _owned(db, principal, sub_id) is None:
        return None
    cursor = (
        db[DELIVERIES]
        .find({"subscription_id": sub_id, "state": state})
        .sort([("seq", 1)])
        .limit(MAX_LISTED)
    )
    return [
        DeliveryOut.model_validate({k: doc.get(k) for k in DeliveryOut.model_fields})
        async for doc in cursor
    ]
