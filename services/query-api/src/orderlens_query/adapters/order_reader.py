"""Reads of the `orders` collection, each bounded by `maxTimeMS` and a limit."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from orderlens import counts_store
from orderlens.filters import Sort, value_at
from orderlens.mongo import ORDER_BYTES, Document, stream

ORDERS = "orders"

# What a list row needs: no items, packages or history (the heavy parts).
SUMMARY_PROJECTION: dict[str, int] = dict.fromkeys(
    (
        "shop_id",
        "status",
        "return_status",
        "created_at",
        "paid_at",
        "updated_at",
        "money",
        "units",
        "product_names",
        "skus",
        "buyer",
        "recipient",
        "payment_method",
        "is_cod",
        "carriers",
        "tracking_numbers",
        "tracking_statuses",
        "estimated_delivery_at",
        "delivery_issue",
        "risk",
        "shipping_type",
        "fulfillment_type",
    ),
    1,
)


class PageBounds:
    """Per process, for each newest-first page read lately: the sort value of the last row its
    answer held (docs/decisions/0200). Only a hint for a server that sorts every match
    (`ServerCapabilities.sorts_every_match`): a read it narrows must still fill the page, else
    the page is read again without it, so a stale bound costs one more read, never a row."""

    def __init__(self, size: int = 1024) -> None:
        self._bounds: OrderedDict[str, Any] = OrderedDict()
        self._size = size

    def get(self, key: str) -> Any:
        bound = self._bounds.get(key)
        if bound is not None:
            self._bounds.move_to_end(key)
        return bound

    def put(self, key: str, bound: Any) -> None:
        if bound is None:
            self._bounds.pop(key, None)
            return
        self._bounds[key] = bound
        self._bounds.move_to_end(key)
        while len(self._bounds) > self._size:
            self._bounds.popitem(last=False)


class OrderReader:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        max_time_ms: int,
        page_bounds: PageBounds | None = None,
    ) -> None:
        self._db = db
        self._orders: AsyncCollection[Document] = db[ORDERS]
        self._max_time_ms = max_time_ms
        self._page_bounds = page_bounds

    async def tab_counts(self, shop_ids: Collection[str]) -> dict[str, Any] | None:
        """The shops' counts from order-ingest's read model (`orderlens.counts_store`): one
        document per shop, no count over the orders; None before the model is built."""
        return await counts_store.read(self._db, shop_ids)

    async def page(
        self,
        query: Mapping[str, Any],
        sort: Sort,
        limit: int,
        projection: Mapping[str, int] = SUMMARY_PROJECTION,
    ) -> list[Document]:
        """The first `limit` orders matching `query` in `sort` order."""
        bounds = self._page_bounds
        if bounds is None or not sort.descending or projection.get(sort.field.split(".")[0]) != 1:
            return await self._sorted(query, sort, limit, projection)
        # Where the server sorts every match, the same page costs less from a filter that keeps
        # only the rows at or above the last row this page had before (docs/decisions/0200).
        key = repr((dict(query), str(sort), limit))
        bound = bounds.get(key)
        if bound is not None:
            # The bound first: most orders fail it, and the server matches `$and` in order.
            narrowed = {"$and": [{sort.field: {"$gte": bound}}, dict(query)]}
            docs = await self._sorted(narrowed, sort, limit, projection)
            if len(docs) == limit:
                # A full page at or above the bound: every order below it sorts after all of
                # these (ties with the bound are inside), so this is the page itself.
                bounds.put(key, value_at(docs[-1], sort.field))
                return docs
        docs = await self._sorted(query, sort, limit, projection)
        bounds.put(key, value_at(docs[-1], sort.field) if len(docs) == limit else None)
        return docs

    async def _sorted(
        self, query: Mapping[str, Any], sort: Sort, limit: int, projection: Mapping[str, int]
    ) -> list[Document]:
        cursor = stream(
            self._orders,
            query,
            dict(projection),
            document_bytes=ORDER_BYTES,
            sort=sort.mongo_sort(),
            limit=limit,
            max_time_ms=self._max_time_ms,
        )
        return await cursor.to_list(length=limit)

    async def count(self, query: Mapping[str, Any], *, limit: int | None = None) -> int:
        """Matching orders, or `limit` when at least that many match (a bounded count)."""
        options: dict[str, Any] = {"maxTimeMS": self._max_time_ms}
        if limit is not None:
            options["limit"] = limit
        return await self._orders.count_documents(dict(query), **options)

    async def count_by(self, query: Mapping[str, Any], *fields: str) -> dict[Any, int]:
        """Matching orders per value of `fields` (a tuple key when several), in one pass."""
        key: Any = f"${fields[0]}" if len(fields) == 1 else {f: f"${f}" for f in fields}
        pipeline: list[dict[str, Any]] = [
            {"$match": dict(query)},
            {"$group": {"_id": key, "n": {"$sum": 1}}},
        ]
        cursor = await self._orders.aggregate(pipeline, maxTimeMS=self._max_time_ms)
        if len(fields) == 1:
            return {row["_id"]: row["n"] async for row in cursor}
        return {tuple(row["_id"].get(f) for f in fields): row["n"] async for row in cursor}

    async def get(self, order_id: str, shop_ids: Collection[str]) -> Document | None:
        """The order if it belongs to one of `shop_ids` (a read by `_id`, the shop checked on
        the document found)."""
        doc = await self._orders.find_one({"_id": order_id}, max_time_ms=self._max_time_ms)
        if doc is None or doc.get("shop_id") not in set(shop_ids):
            return None
        return doc

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        cursor = await self._orders.aggregate(
            [dict(stage) for stage in pipeline], maxTimeMS=self._max_time_ms
        )
        return [row async for row in cursor]

    async def find(
        self,
        query: Mapping[str, Any],
        projection: Mapping[str, int],
        *,
        limit: int,
    ) -> list[Document]:
        # `limit` may be large (the delivery stats read up to `stats_max_orders`): streamed (0220).
        cursor = stream(
            self._orders,
            query,
            dict(projection),
            document_bytes=ORDER_BYTES,
            limit=limit,
            max_time_ms=self._max_time_ms,
        )
        return await cursor.to_list(length=limit)
