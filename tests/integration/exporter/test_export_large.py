"""A 50,000-row export completes, reporting progress that never goes backwards."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from exp_orders import wide_orders
from exp_stack import ExportStack, start_stack
from pymongo import AsyncMongoClient

from orderlens_exporter.app import build

BIG_SHOP = "shop-big"
# Few, wide orders: FerretDB's cost is per document, and the test is about rows.
SKUS = 25
BIG_ORDERS = 50_000 // SKUS


@pytest_asyncio.fixture(scope="module")
async def stack(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ExportStack]:
    """query-api over 2,000 orders of 25 SKUs each, and no exporter yet."""
    documents = wide_orders(BIG_ORDERS, skus=SKUS, shop_id=BIG_SHOP, seed=1)
    async for running in start_stack(
        mongo_client,
        mongodb_uri,
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("exports"),
        documents=documents,
        shops=[BIG_SHOP],
        exporters=0,
    ):
        yield running


async def test_a_50000_row_export_completes_with_progress_that_never_goes_back(
    stack: ExportStack,
) -> None:
    # Progress every 50 ms: on a quiet machine the whole export takes about a second, and the
    # default 1 s interval would leave a single report in between (this checks the reports,
    # not the interval).
    fast = stack.settings.model_copy(update={"export_progress_seconds": 0.05})
    exporter = build(fast, owner="big")
    await exporter.start()
    try:
        export_id = await stack.request(
            {"format": "csv", "filters": {"shop_id": [BIG_SHOP]}}, shops=[BIG_SHOP]
        )
        seen: list[dict[str, Any]] = []
        view = await stack.wait(export_id, within=600, seen=seen, shops=[BIG_SHOP])
    finally:
        await exporter.stop()

    assert view["status"] == "succeeded", view
    assert view["rows"] == 50_000
    running = [v for v in seen if v["status"] == "running"]
    for field in ("progress", "rows"):
        values = [v[field] for v in seen]
        assert values == sorted(values), f"{field} went backwards: {values}"
    # Rows are reported as they are written. (The fraction needs the total, counted alongside
    # the export: on FerretDB a count costs more than the export's own read, so it may only
    # arrive at the end.)
    assert len({v["rows"] for v in running if 0 < v["rows"] < 50_000}) >= 2
    assert view["progress"] == 1.0

    download = await stack.api.get(
        f"/v1/exports/{export_id}/download", headers=stack.auth(shops=[BIG_SHOP])
    )
    assert download.status_code == 200
    assert int(download.headers["content-length"]) == view["bytes"]
    rows = list(csv.reader(io.StringIO(download.content.decode(), newline="")))
    assert len(rows) == 1 + 50_000
    assert len({row[0] for row in rows[1:]}) == BIG_ORDERS
