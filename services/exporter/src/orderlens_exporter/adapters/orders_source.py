"""Reading the orders of an export from MongoDB: a cursor in bounded batches."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from pymongo.asynchronous.collection import AsyncCollection

from orderlens.mongo import ORDER_BYTES, Document, stream
from orderlens_exporter.domain.export_model import EXPORT_PROJECTION

ORDERS_COLLECTION = "orders"

__all__ = ["EXPORT_PROJECTION", "MongoOrderSource", "count_orders", "order_batches"]


async def count_orders(collection: AsyncCollection[Document], mongo_filter: Document) -> int:
    return await collection.count_documents(mongo_filter)


async def order_batches(
    collection: AsyncCollection[Document],
    mongo_filter: Document,
    *,
    batch_size: int,
    sort_by_id: bool = False,
) -> AsyncGenerator[list[Document], None]:
    """The matching order documents, `batch_size` at a time, from one cursor that streams them
    (the projection keeps whole packages, checkpoints and all: docs/decisions/0220).

    Unsorted by default (storage order): see `ExporterSettings.export_sort_by_id`.
    """
    cursor = stream(
        collection,
        mongo_filter,
        EXPORT_PROJECTION,
        document_bytes=ORDER_BYTES,
        sort=[("_id", 1)] if sort_by_id else None,
    )
    try:
        while True:
            batch = await cursor.to_list(batch_size)
            if not batch:
                return
            yield batch
    finally:
        await cursor.close()


class MongoOrderSource:
    """`OrderSource` over the `orders` collection."""

    def __init__(
        self, collection: AsyncCollection[Document], *, batch_size: int, sort_by_id: bool = False
    ) -> None:
        self._collection = collection
        self._batch_size = batch_size
        self._sort_by_id = sort_by_id

    async def count(self, mongo_filter: Document) -> int:
        return await count_orders(self._collection, mongo_filter)

    def batches(self, mongo_filter: Document) -> AsyncGenerator[list[Document], None]:
        return order_batches(
            self._collection,
            mongo_filter,
            batch_size=self._batch_size,
            sort_by_id=self._sort_by_id,
        )
