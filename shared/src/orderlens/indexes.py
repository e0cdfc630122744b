"""The MongoDB indexes of the collections order-ingest writes, created at start-up.

Each index has a name, so a query-api test or an operator can say which one serves a query
(`explain()` on MongoDB). `create_missing_indexes` is THE index helper of orderlens: every service
declares its collections' `IndexModel`s and calls it at start-up (idempotent; one `createIndexes`
command per collection, docs/decisions/0085).

Which query of docs/contract.md §5.2 each `orders` index serves:

- `shop_created`      list sorted by created_at (the default sort), created_from/created_to
- `shop_paid`         sort by paid_at, paid_from/paid_to
- `shop_updated`      sort by updated_at, updated_from/updated_to
- `shop_total`        sort by total, total_min/total_max
- `shop_status_created` status / view filters with the default sort; counts by status
- `skus`, `tracking_numbers`, `carriers`, `buyer_email`, `buyer_user_id`
                      sku, tracking_number / q, carrier, q (e-mail), buyer (user id)
- `shop_region`       country / state / city filters and the regions stats
- `status_last_checkpoint` the "stalled" filter (in transit, no checkpoint for N hours)
- `paid_bucket`       order-ingest's recompute of a sales bucket (docs/contract.md §5.3)
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.capabilities import ServerCapabilities
from orderlens.domain.sales import COLLECTION as SALES_BUCKETS
from orderlens.mongo import Document

ORDERS = "orders"
PARKED_STATUS_EVENTS = "parked_status_events"
#: order-ingest's neighbour lookup of the shared-address rule: per address key and UTC day of
#: creation, the ids of the orders created there (`_id` "<address_key>|<YYYY-MM-DD>"), read by
#: `_id` only, so it needs no index (docs/decisions/0142).
ADDRESS_ORDERS = "address_orders"

INDEXES: dict[str, list[IndexModel]] = {
    ORDERS: [
        IndexModel(
            [("shop_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="shop_created",
        ),
        IndexModel(
            [("shop_id", ASCENDING), ("paid_at", ASCENDING), ("_id", ASCENDING)],
            name="shop_paid",
        ),
        IndexModel(
            [("shop_id", ASCENDING), ("updated_at", ASCENDING), ("_id", ASCENDING)],
            name="shop_updated",
        ),
        IndexModel(
            [("shop_id", ASCENDING), ("money.total", ASCENDING), ("_id", ASCENDING)],
            name="shop_total",
        ),
        IndexModel(
            [
                ("shop_id", ASCENDING),
                ("status", ASCENDING),
                ("created_at", DESCENDING),
                ("_id", DESCENDING),
            ],
            name="shop_status_created",
        ),
        IndexModel([("skus", ASCENDING)], name="skus"),
        IndexModel([("tracking_numbers", ASCENDING)], name="tracking_numbers"),
        IndexModel([("carriers", ASCENDING)], name="carriers"),
        IndexModel([("buyer.email", ASCENDING)], name="buyer_email"),
        IndexModel([("buyer.user_id", ASCENDING)], name="buyer_user_id"),
        IndexModel(
            [
                ("shop_id", ASCENDING),
                ("recipient.country_code", ASCENDING),
                ("recipient.state", ASCENDING),
                ("recipient.city", ASCENDING),
            ],
            name="shop_region",
        ),
        IndexModel(
            [("status", ASCENDING), ("last_checkpoint_at", ASCENDING)],
            name="status_last_checkpoint",
        ),
        IndexModel([("paid_bucket", ASCENDING), ("shop_id", ASCENDING)], name="paid_bucket"),
    ],
    PARKED_STATUS_EVENTS: [
        IndexModel([("order_id", ASCENDING)], name="order_id"),
    ],
    SALES_BUCKETS: [
        IndexModel(
            [("shop_id", ASCENDING), ("currency", ASCENDING), ("start", ASCENDING)],
            name="shop_currency_start",
        ),
        IndexModel([("pending", ASCENDING)], name="pending"),
    ],
}


#: Where the server serves a version-guarded write (`{"_id": id, "version": n}`) only from an
#: index with exactly those keys (`ServerCapabilities.id_index_serves_compound_filters` false,
#: mongo-java-server): without it every guarded write of order-ingest scans `orders`
#: (docs/decisions/0140). On MongoDB the `_id` index serves the guard and this is not created.
GUARD_INDEXES: dict[str, list[IndexModel]] = {
    ORDERS: [
        IndexModel([("_id", ASCENDING), ("version", ASCENDING)], unique=True, name="id_version")
    ],
}


async def create_missing_indexes(
    collection: AsyncCollection[Document], models: Sequence[IndexModel]
) -> list[str]:
    """Create those of `models` the collection does not have yet (by name), in one command;
    answer the names created. Safe to call from every replica at every start."""
    existing = {index["name"] async for index in await collection.list_indexes()}
    missing = [model for model in models if model.document["name"] not in existing]
    if missing:
        await collection.create_indexes(missing)
    return [model.document["name"] for model in missing]


def indexes_for(capabilities: ServerCapabilities | None) -> dict[str, list[IndexModel]]:
    """The declared indexes, and the guard indexes where the server needs them."""
    if capabilities is None or capabilities.id_index_serves_compound_filters:
        return INDEXES
    return {
        collection: [*models, *GUARD_INDEXES.get(collection, [])]
        for collection, models in INDEXES.items()
    }


async def ensure_indexes(
    db: AsyncDatabase[Document], capabilities: ServerCapabilities | None = None
) -> dict[str, list[str]]:
    """Create the indexes above that do not exist yet; answer the names created per collection.
    With `capabilities`, also the guard indexes that server needs (`indexes_for`)."""
    return {
        collection: await create_missing_indexes(db[collection], models)
        for collection, models in indexes_for(capabilities).items()
    }
