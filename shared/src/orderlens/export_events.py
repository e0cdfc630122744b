"""The export events (docs/contract.md §3.5) to and from the stored export record.

Outside `domain/` so that the domain does not import the event contract (which imports it).
"""

from __future__ import annotations

from datetime import datetime

from orderlens.domain.export import FINISHED, ExportRecord, ExportStatus
from orderlens.events import ExportCompleted, ExportRequested


def requested_event_data(record: ExportRecord) -> ExportRequested:
    """The `orders.export-requested` data that wakes an exporter for `record`."""
    return ExportRequested(
        export_id=record.id,
        shop_ids=record.shop_ids,
        requested_by=record.requested_by,
        role=record.role,
        format=record.format,
        granularity=record.granularity,
        filters=record.filters,
        tz=record.tz,
    )


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
    return ExportRecord(
        id=request.export_id,
        shop_ids=sorted(set(request.shop_ids)),
        requested_by=request.requested_by,
        role=request.role,
        format=request.format,
        granularity=request.granularity,
        filters=dict(request.filters),
        tz=request.tz,
        created_at=now,
        updated_at=now,
        request_event_id=event_id,
    )
