"""sync_notifications: duplicates fetch once, batches of ≤ 50, deauthorization stops the shop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from orderlens.tiktok import TikTokOrder
from orderlens_connector.adapters.tiktok_client import ShopRef
from orderlens_connector.notifications import Notification
from orderlens_connector.service import sync_notifications

pytestmark = pytest.mark.unit

SHOP = ShopRef("7001", "ROW_c")


def order(order_id: str, update_time: int = 100) -> dict[str, Any]:
    return {
        "id": order_id,
        "status": "AWAITING_SHIPMENT",
        "create_time": 1,
        "update_time": update_time,
        "payment": {"currency": "GBP", "total_amount": "10.00"},
        "line_items": [{"id": "1", "sku_id": "2", "product_name": "Case", "sale_price": "10.00"}],
    }


def note(nid: str, order_id: str | None, kind: int = 1, shop: str = "7001") -> Notification:
    data = {"order_id": order_id} if order_id else {}
    return Notification(type=kind, tts_notification_id=nid, shop_id=shop, timestamp=1, data=data)


class Fakes:
    def __init__(self) -> None:
        self.shops = {"7001": SHOP}
        self.revoked: list[str] = []
        self.calls: list[list[str]] = []
        self.published: list[TikTokOrder] = []
        self.seen: set[str] = set()

    async def shop(self, shop_id: str) -> ShopRef | None:
        return self.shops.get(shop_id)

    async def revoke(self, shop_id: str, reason: str) -> None:
        self.revoked.append(shop_id)
        self.shops.pop(shop_id, None)

    async def order_detail(self, shop: ShopRef, order_ids: Sequence[str]) -> list[dict[str, Any]]:
        self.calls.append(list(order_ids))
        return [order(i) for i in order_ids]

    async def unseen(self, notification_ids: Sequence[str]) -> set[str]:
        return {i for i in notification_ids if i not in self.seen}

    async def mark_seen(self, notification_ids: Sequence[str]) -> None:
        self.seen.update(notification_ids)

    async def publish(self, shop_id: str, tiktok_order: TikTokOrder) -> None:
        self.published.append(tiktok_order)

    async def run(self, batch: list[Notification]) -> Any:
        return await sync_notifications(batch, shops=self, fetcher=self, seen=self, publisher=self)


async def test_duplicates_fetch_once_and_orders_are_batched_by_fifty() -> None:
    fakes = Fakes()
    batch = [note(f"n{i}", f"o{i}") for i in range(120)]
    batch += [note("n5", "o5"), note("n7", "o7")]  # the same notifications again
    batch += [note("x1", "o1", kind=4)]  # another notification about an order already named
    result = await fakes.run(batch)
    assert [len(c) for c in fakes.calls] == [50, 50, 20]
    assert sorted(o.id for o in fakes.published) == sorted(f"o{i}" for i in range(120))
    assert result.duplicates == 2
    again = await fakes.run([note("n9", "o9"), note("n10", "o10")])  # redelivered later
    assert again.published == 0
    assert len(fakes.calls) == 3


async def test_deauthorization_stops_the_shop() -> None:
    fakes = Fakes()
    result = await fakes.run([note("d1", None, kind=6), note("n1", "o1")])
    assert fakes.revoked == ["7001"]
    assert result.revoked == ("7001",)
    assert result.skipped_shops == ("7001",)
    assert fakes.calls == []
    assert fakes.published == []
