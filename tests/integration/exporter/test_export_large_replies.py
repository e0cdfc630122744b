"""Reads over more order bytes than one MongoDB-wire reply may carry (48 MB, PyMongo's
`maxMessageSizeBytes`) still answer: an export, the delivery stats, order-ingest's load of
orders by id (docs/decisions/0220).

mongo-java-server puts every document a find matches into one reply unless the find names a
batch size; MongoDB caps a reply at 16 MB by itself. Few, large orders (many tracking
checkpoints each) keep the seeding short: 250 orders of ~200 KB, 51 MB in all, more than the
~190 KB an order must have before order-ingest's reads of 256 ids (`id_list_chunk`) overflow.
They are larger than `orderlens.mongo.ORDER_BYTES` too: a reply of 128 of them (26 MB) still
arrives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import bson
import pytest
import pytest_asyncio
from exp_orders import END, make_orders
from exp_stack import ExportStack, start_stack
from pymongo import AsyncMongoClient

from orderlens.capabilities import ServerCapabilities
from orderlens.domain.order import Checkpoint
from orderlens.domain.status import TrackingStatus
from orderlens.mongo import Document, find_by_ids

ORDERS = 250
DOCUMENT_BYTES = 200_000
MESSAGE_BYTES = 48_000_000  # PyMongo refuses a reply larger than this


def large_orders() -> tuple[list[Document], str]:
    """`ORDERS` delivered orders of one shop, each ~`DOCUMENT_BYTES` of tracking checkpoints."""
    orders, shops = make_orders(ORDERS, seed=11, shops=1)
    documents = []
    for index, order in enumerate(orders):
        delivered = END - timedelta(hours=index)
        checkpoint = Checkpoint(
            at=delivered - timedelta(days=2),
            status=TrackingStatus.IN_TRANSIT,
            message="Parcel scanned at sorting centre, departed towards the delivery depot",
            location="Distribution centre 7, Hall B, Gate 12",
        ).model_dump(mode="python")
        document = order.to_document()
        package = {
            "package_id": f"pkg-{index}",
            "carrier": "ACME",
            "tracking_number": f"TN{index:08d}",
            "tracking_status": "DELIVERED",
            "checkpoints": [checkpoint],
        }
        per_checkpoint = len(bson.encode({"c": [checkpoint]})) - len(bson.encode({"c": []}))
        package["checkpoints"] = [checkpoint] * (DOCUMENT_BYTES // per_checkpoint)
        document.update(
            status="DELIVERED", delivered_at=delivered, shipped_at=delivered - timedelta(days=3)
        )
        document["packages"] = [package]
        documents.append(document)
    return documents, shops[0]


@pytest_asyncio.fixture(scope="module")
async def stack(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ExportStack]:
    documents, shop = large_orders()
    total = sum(len(bson.encode(d)) for d in documents)
    assert total > MESSAGE_BYTES, total  # what one unbatched reply would carry
    async for running in start_stack(
        mongo_client,
        mongodb_uri,
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("exports"),
        documents=documents,
        shops=[shop],
        export_max_attempts=1,
    ):
        yield running


async def test_an_export_over_50_mb_of_orders_succeeds(stack: ExportStack) -> None:
    export_id = await stack.request({"format": "csv", "filters": {}})
    view = await stack.wait(export_id, within=300)

    assert view["status"] == "succeeded", view
    download = await stack.api.get(f"/v1/exports/{export_id}/download", headers=stack.auth())
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.content.decode(), newline="")))
    assert len({row["Order ID"] for row in rows}) == ORDERS


async def test_delivery_stats_over_50_mb_of_orders_answer(stack: ExportStack) -> None:
    response = await stack.api.get(
        "/v1/stats/delivery",
        params={"from": "2026-04-01", "to": "2026-04-30"},
        headers=stack.auth(),
    )

    assert response.status_code == 200, response.text
    assert response.json()["overall"]["delivered"] == ORDERS


async def test_order_ingest_loads_50_mb_of_orders_by_id(stack: ExportStack) -> None:
    ids = [doc["_id"] async for doc in stack.db.orders.find({}, {"_id": 1})]
    capabilities = await ServerCapabilities.read(stack.db)

    found = find_by_ids(stack.db.orders, ids, chunk=capabilities.id_list_chunk)

    assert sorted([doc["_id"] async for doc in found]) == sorted(ids)
