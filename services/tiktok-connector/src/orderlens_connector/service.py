"""Use cases of the tiktok-connector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from orderlens.tiktok import TikTokOrder
from orderlens.tiktok_signing import webhook_signature_matches

from .adapters.tiktok_client import MAX_DETAIL_IDS, ShopRef
from .notifications import SELLER_DEAUTHORIZATION, Notification


class NotificationLog(Protocol):
    async def append(self, notification: Notification, raw_body: bytes) -> None:
        """Durable once this returns (acknowledged by every in-sync replica)."""
        ...

    async def ready(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    status: int
    reason: str
    notification: Notification | None = None


async def receive_webhook(
    raw_body: bytes,
    signature: str | None,
    *,
    app_key: str,
    app_secret: str,
    max_bytes: int,
    log: NotificationLog,
) -> WebhookOutcome:
    """Verify, then parse, then make durable; only then is TikTok answered 200 (0093)."""
    if len(raw_body) > max_bytes:
        return WebhookOutcome(413, "body too large")
    if not webhook_signature_matches(app_key, app_secret, raw_body, signature):
        return WebhookOutcome(401, "missing or wrong signature")
    try:
        notification = Notification.model_validate_json(raw_body)
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"
        return WebhookOutcome(400, f"invalid notification: {field}")
    await log.append(notification, raw_body)
    return WebhookOutcome(200, "accepted", notification)


# -- notifications → orders.created snapshots -----------------------------------------------


class ShopDirectory(Protocol):
    async def shop(self, shop_id: str) -> ShopRef | None:
        """The shop's id and cipher while it is connected; None once revoked or unknown."""
        ...

    async def revoke(self, shop_id: str, reason: str) -> None: ...


class OrderFetcher(Protocol):
    async def order_detail(
        self, shop: ShopRef, order_ids: Sequence[str]
    ) -> list[dict[str, Any]]: ...


class SeenNotifications(Protocol):
    async def unseen(self, notification_ids: Sequence[str]) -> set[str]: ...

    async def mark_seen(self, notification_ids: Sequence[str]) -> None: ...


class SnapshotPublisher(Protocol):
    async def publish(self, shop_id: str, order: TikTokOrder) -> None: ...


@dataclass(frozen=True, slots=True)
class SyncResult:
    fetched: int
    published: int
    duplicates: int
    revoked: tuple[str, ...]
    skipped_shops: tuple[str, ...]


async def sync_notifications(
    notifications: Sequence[Notification],
    *,
    shops: ShopDirectory,
    fetcher: OrderFetcher,
    seen: SeenNotifications,
    publisher: SnapshotPublisher,
) -> SyncResult:
    """One batch: each order named once, fetched with Get Order Detail ≤ 50 ids a call, and
    published as TikTok returned it. Marked seen only after publishing, so a crash in between
    fetches again (at least once) and the newest `update_time` wins downstream (0093)."""
    ids = [n.tts_notification_id for n in notifications]
    fresh_ids = await seen.unseen(list(dict.fromkeys(ids)))
    fresh: list[Notification] = []
    taken: set[str] = set()
    for n in notifications:
        if n.tts_notification_id in fresh_ids and n.tts_notification_id not in taken:
            taken.add(n.tts_notification_id)
            fresh.append(n)
    revoked: list[str] = []
    wanted: dict[str, dict[str, None]] = {}
    for n in fresh:
        if n.type == SELLER_DEAUTHORIZATION:
            await shops.revoke(n.shop_id, "deauthorization webhook")
            revoked.append(n.shop_id)
            continue
        order_id = n.order_id()
        if order_id is not None:
            wanted.setdefault(n.shop_id, {})[order_id] = None
    fetched = published = 0
    skipped: list[str] = []
    for shop_id, order_ids in wanted.items():
        shop = await shops.shop(shop_id)
        if shop is None or shop_id in revoked:
            skipped.append(shop_id)
            continue
        names = list(order_ids)
        for start in range(0, len(names), MAX_DETAIL_IDS):
            orders = await fetcher.order_detail(shop, names[start : start + MAX_DETAIL_IDS])
            fetched += len(orders)
            for raw in orders:
                await publisher.publish(shop_id, TikTokOrder.model_validate(raw))
                published += 1
    await seen.mark_seen([n.tts_notification_id for n in fresh])
    return SyncResult(
        fetched=fetched,
        published=published,
        duplicates=len(notifications) - len(fresh),
        revoked=tuple(revoked),
        skipped_shops=tuple(skipped),
    )
