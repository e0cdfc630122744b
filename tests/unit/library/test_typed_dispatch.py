"""`orderlens.consumer.events_of`: the subscribers' one typed dispatch."""

from __future__ import annotations

from datetime import UTC, datetime

from orderlens.consumer import Received, events_of
from orderlens.events import (
    CloudEvent,
    ExportFormat,
    ExportRequested,
    StatusChanged,
    StatusSource,
    make_event,
)

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def received(event: CloudEvent[ExportRequested] | CloudEvent[StatusChanged]) -> Received:
    return Received(event, "topic", 0, 0, event.subject.encode(), b"")


def test_a_batch_is_split_by_data_model_in_batch_order() -> None:
    changes = [
        make_event(
            StatusChanged(
                order_id=f"o-{i}",
                shop_id="s",
                occurred_at=NOW,
                source=StatusSource.SELLER,
                status="CANCELLED",
            ),
            source="t",
            subject=f"o-{i}",
        )
        for i in range(3)
    ]
    request = make_event(
        ExportRequested(
            export_id="exp-1",
            shop_ids=["s"],
            requested_by="u",
            role="admin",
            format=ExportFormat.CSV,
        ),
        source="t",
        subject="exp-1",
    )
    batch = [received(changes[0]), received(request), received(changes[1]), received(changes[2])]

    typed = events_of(batch, StatusChanged)
    assert [e.data.order_id for e in typed] == ["o-0", "o-1", "o-2"]
    assert [e.data.export_id for e in events_of(batch, ExportRequested)] == ["exp-1"]
    assert events_of(batch[:1], ExportRequested) == []
