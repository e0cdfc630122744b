"""The streaming core: plans from records, batches to a finished file, progress."""

from __future__ import annotations

import csv
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orderlens.domain.order import Order
from orderlens.events import ExportFormat, ExportRequested
from orderlens.export_events import record_from_request
from orderlens.filters import build_mongo_filter, parse_filters
from orderlens_exporter.pipeline import InvalidExport, Progress, plan_export, write_export
from orderlens_exporter.service import retry_delay

MakeOrder = Callable[..., Order]
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def request(**changes: Any) -> ExportRequested:
    data: dict[str, Any] = {
        "export_id": "exp-1",
        "shop_ids": ["shop-1"],
        "requested_by": "alice",
        "role": "admin",
        "format": "csv",
        "filters": {"status": ["IN_TRANSIT"], "stalled_hours": "48"},
        "tz": "UTC",
    }
    data.update(changes)
    return ExportRequested.model_validate(data)


def test_the_plan_uses_the_list_endpoints_filter_at_the_request_time() -> None:
    record = record_from_request(request(), now=NOW)
    plan = plan_export(record)
    expected = build_mongo_filter(
        parse_filters({"status": ["IN_TRANSIT"], "stalled_hours": "48"}), ["shop-1"], now=NOW
    )
    assert plan.mongo_filter == expected


def test_the_analyst_plan_cannot_search_by_pii() -> None:
    def plan_for(role: str) -> str:
        record = record_from_request(request(role=role, filters={"q": "a@b.c"}), now=NOW)
        return str(plan_export(record).mongo_filter)

    assert "buyer.email" in plan_for("admin")
    assert "buyer.email" not in plan_for("analyst")


@pytest.mark.parametrize(
    "changes",
    [
        {"filters": {"status": ["NOPE"]}},
        {"filters": {"colour": "red"}},
        {"filters": {"status": ["$ne"]}},
        {"tz": "Mars/Olympus"},
        {"role": "superuser"},
    ],
)
def test_a_request_that_can_never_succeed_is_invalid(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidExport):
        plan_export(record_from_request(request(**changes), now=NOW))


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def batches_of(docs: list[dict[str, Any]], size: int) -> AsyncGenerator[list[Any], None]:
    for start in range(0, len(docs), size):
        yield docs[start : start + size]


async def test_batches_become_one_file_with_progress(tmp_path: Path, make_order: MakeOrder) -> None:
    orders = [make_order(id=f"o{i}") for i in range(5)]
    plan = plan_export(record_from_request(request(filters={}), now=NOW))
    progress = Progress(orders_total=5)
    path = tmp_path / "out.csv"
    counted: list[int] = []

    rows = await write_export(
        plan,
        batches_of([o.to_document() for o in orders], 2),
        path,
        progress,
        on_rows=counted.append,
    )

    assert rows == 10  # two SKUs per order
    assert (progress.rows, progress.orders_done) == (10, 5)
    assert counted == [4, 4, 2]
    with path.open(newline="", encoding="utf-8") as handle:
        read = list(csv.reader(handle))
    assert [r[0] for r in read[1:]] == [f"o{i}" for i in range(5) for _ in (1, 2)]


async def test_an_unreadable_order_fails_the_export_and_the_writer_is_aborted(
    tmp_path: Path, make_order: MakeOrder
) -> None:
    good = make_order(id="o1").to_document()
    bad = {**make_order(id="o2").to_document(), "status": "TELEPORTED"}
    plan = plan_export(record_from_request(request(filters={}, format="xlsx"), now=NOW))
    assert plan.export_format == ExportFormat.XLSX
    with pytest.raises(InvalidExport, match="o2"):
        await write_export(
            plan, batches_of([good, bad], 1), tmp_path / "o.xlsx", Progress(), scratch_dir=tmp_path
        )
    assert listing(tmp_path) == []


def test_progress_is_a_fraction_below_one_until_the_end() -> None:
    assert Progress().fraction == 0.0
    assert Progress(orders_total=4, orders_done=1).fraction == 0.25
    # More orders than counted at the start (new ones arrived): still not "done".
    assert Progress(orders_total=4, orders_done=9).fraction == 0.99


def test_retries_wait_longer_each_time_up_to_five_minutes() -> None:
    base = timedelta(seconds=10)
    waits = [retry_delay(base, attempt) for attempt in range(1, 8)]
    assert waits[:3] == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert waits[-1] == timedelta(minutes=5)
