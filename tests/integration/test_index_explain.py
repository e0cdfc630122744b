"""On a server that answers `explain` (MongoDB: `MONGODB_URI=… make test-conformance` or
`pytest tests/integration/test_index_explain.py`), every query shape of tests/index_coverage.py
is planned as an index scan, never a collection scan, with a bounded number of documents read
(docs/decisions/0088). The local mongo-java-server has no `explain` (it uses no secondary index
for reads), so there the static check of tests/unit/library/test_index_coverage.py stands alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from index_coverage import NOW, serving_index, shapes
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.capabilities import ServerCapabilities
from orderlens.indexes import INDEXES, ORDERS, ensure_indexes

PAGE = 51
SCOPE = 200


def _stages(plan: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(plan, dict):
        if "stage" in plan:
            found.append(plan)
        for value in plan.values():
            found.extend(_stages(value))
    elif isinstance(plan, list):
        for value in plan:
            found.extend(_stages(value))
    return found


async def test_every_query_shape_is_an_index_scan(mongo_db: AsyncDatabase[dict[str, Any]]) -> None:
    capabilities = await ServerCapabilities.read(mongo_db)
    if not capabilities.explain:
        pytest.skip(f"the server ({capabilities.version}) has no explain command")
    await ensure_indexes(mongo_db)
    await mongo_db[ORDERS].insert_many(
        [
            {
                "_id": f"5770{i:014d}",
                "shop_id": "shop-a",
                "status": "AWAITING_SHIPMENT",
                "created_at": NOW - timedelta(hours=i),
                "paid_at": NOW - timedelta(hours=i),
                "updated_at": NOW - timedelta(hours=i),
                "money": {"currency": "USD", "total": 10 * i},
            }
            for i in range(SCOPE)
        ]
    )
    failures = []
    for shape in shapes():
        expected = serving_index(shape.query, shape.sort, INDEXES[ORDERS])
        explained = await mongo_db.command(
            {
                "explain": {
                    "find": ORDERS,
                    "filter": shape.query,
                    "sort": dict(shape.sort.mongo_sort()),
                    "limit": PAGE,
                },
                "verbosity": "executionStats",
            }
        )
        stages = {stage["stage"] for stage in _stages(explained["queryPlanner"]["winningPlan"])}
        examined = explained["executionStats"]["totalDocsExamined"]
        # Without a residual filter the walk stops at the page; with one it reads at most the
        # shops' orders (the residual conditions are checked on the documents, 0088).
        bound = PAGE if shape.name.startswith("no filter") else SCOPE
        if "COLLSCAN" in stages or "IXSCAN" not in stages or examined > bound:
            failures.append((shape.name, expected, sorted(stages), examined))
    assert not failures, failures[:20]
