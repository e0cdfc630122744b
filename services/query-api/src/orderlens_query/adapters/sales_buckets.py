"""Reads of order-ingest's `sales_buckets` collection (docs/decisions/0087), bounded by
`maxTimeMS`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from orderlens.domain.sales import COLLECTION as SALES_BUCKETS
from orderlens.mongo import Document
from orderlens_query.windows import Window

# The counters of one bucket, summed over shops.
SUMMED = ("orders", "units", "gross", "cancelled", "cancelled_gross")


class SalesBuckets:
    def __init__(self, db: AsyncDatabase[Document], *, max_time_ms: int) -> None:
        self._buckets = db[SALES_BUCKETS]
        self._max_time_ms = max_time_ms

    async def read(
        self,
        shop_ids: Collection[str],
        currencies: Collection[str],
        spans: Sequence[Window],
    ) -> list[Document]:
        """The buckets of the caller's shops in the given windows, the shops' buckets of one
        currency and start summed by a `$group` in the database (docs/decisions/0087)."""
        match: dict[str, Any] = {
            "shop_id": {"$in": sorted(shop_ids)},
            "$or": [{"start": {"$gte": w.start, "$lt": w.end}} for w in spans],
        }
        if currencies:
            match["currency"] = {"$in": sorted(currencies)}
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {
                "$group": {
                    "_id": {"currency": "$currency", "start": "$start"},
                    **{field: {"$sum": f"${field}"} for field in SUMMED},
                }
            },
        ]
        cursor = await self._buckets.aggregate(pipeline, maxTimeMS=self._max_time_ms)
        return [
            {"currency": row["_id"]["currency"], "start": row["_id"]["start"], **row}
            async for row in cursor
        ]
