"""The export events (docs/contract.md §3.5) to and from the stored export record.

Outside `domain/` so that the domain does not import the event contract (which imports it).
"""

from __future__ import annotations

from datetime import datetime

from orderlens.domain.export import FINISHED, ExportRecord, ExportStatus
from orderlens.events import ExportCompleted, ExportRequested


def requested_event_data(record: ExportRecord) -> ExportRequested:
    """The `orders.export-requested` data that wakes an exporter for `record`."""
    return ExportRequested(export_id=record.id, **record.request_fields())


def completed_event_data(record: ExportRecord) -> ExportCompleted:
    """The `orders.export-completed` data of a finished record."""
    if record.status not in FINISHED:
        raise ValueError(f"export {record.id} is {record.status.value}, not finished")
    return ExportCompleted(
        export_id=record.id,
        status="succeeded" if record.status == ExportStatus.SUCCEEDED else "failed",
        rows=record.rows,
        bytes=record.bytes or 0,
        sha256=record.sha256,
        file_name=record.file_name,
        error=record.error,
    )


def record_from_request(
    request: ExportRequested, *, now: datetime, event_id: str | None = None
) -> ExportRecord:
    """A new `queued` record for a request."""
    fields = request.request_fields()
    return ExportRecord(
        **{**fields, "shop_ids": sorted(set(request.shop_ids)), "filters": dict(request.filters)},
        id=request.export_id,
        created_at=now,
        updated_at=now,
        request_event_id=event_id,
    )
