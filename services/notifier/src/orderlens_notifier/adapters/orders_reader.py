"""What the notifier reads of other writers' collections: stalled orders from `orders` (written
by order-ingest) and export records from `exports` (query-api and the exporter). Read only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from orderlens.domain.export import EXPORTS_COLLECTION, ExportRecord
from orderlens.filters import OrderFilters, build_mongo_filter
from orderlens.indexes import ORDERS
from orderlens.mongo import Document


@dataclass(frozen=True)
class StalledOrder:
    order_id: str
    shop_id: str
    last_checkpoint_at: datetime | None


class OrdersReader:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._orders = db[ORDERS]
        self._exports = db[EXPORTS_COLLECTION]

    async def shops(self) -> list[str]:
        return sorted(await self._orders.distinct("shop_id"))

    async def stalled(
        self, shop_id: str, hours: int, now: datetime, limit: int
    ) -> list[StalledOrder]:
        # The list's own `stalled_hours` filter: the inbox and GET /v1/orders agree on "stalled".
        query = build_mongo_filter(OrderFilters(stalled_hours=hours), [shop_id], now=now)
        cursor = self._orders.find(query, {"shop_id": 1, "last_checkpoint_at": 1}, limit=limit)
        return [
            StalledOrder(doc["_id"], doc["shop_id"], doc.get("last_checkpoint_at"))
            async for doc in cursor
        ]

    async def export(self, export_id: str) -> ExportRecord | None:
        doc = await self._exports.find_one({"_id": export_id})
        return None if doc is None else ExportRecord.from_document(doc)
