"""Export records (collection `exports`): query-api creates them, the exporter advances them.

A record is the durable job: the `orders.export-requested` event only wakes the exporter up,
so an export survives a lost event, a dead worker or a full per-shop quota (docs/contract.md
§3.5, §5.5). The events are built from and into records in `orderlens.export_events`, outside
`domain/`.

Life cycle: `queued` -> `running` (a worker holds a lease it renews; `attempts` counts claims)
-> `succeeded` (file stored, checksummed) or `failed`. A running record whose lease expired is
claimed again (`attempts` + 1); a transient failure puts it back to `queued` after a delay.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

EXPORTS_COLLECTION = "exports"


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Granularity(StrEnum):
    LINE = "line"
    ORDER = "order"


# Export ids end up in file names and URLs: letters, digits, `-` and `_` only.
EXPORT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_EXPORT_ID = re.compile(EXPORT_ID_PATTERN)

CONTENT_TYPES: dict[ExportFormat, str] = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = frozenset({ExportStatus.SUCCEEDED, ExportStatus.FAILED})


class ExportRequest(BaseModel):
    """What a user asked to export: the one definition of the fields that the request event
    (`orderlens.events.ExportRequested`) carries and the record keeps."""

    shop_ids: list[str] = Field(min_length=1)
    requested_by: str
    role: str
    format: ExportFormat
    granularity: Granularity = Granularity.LINE
    # The same names and value forms as the query string of GET /v1/orders (docs/contract.md §5.2).
    filters: dict[str, str | list[str]] = Field(default_factory=dict)
    tz: str = "UTC"

    def request_fields(self) -> dict[str, Any]:
        """These fields alone, to build the other model from."""
        return {name: getattr(self, name) for name in ExportRequest.model_fields}


class ExportRecord(ExportRequest):
    """One export as stored; `id` is stored as `_id`. Field names are the MongoDB names."""

    # Unknown stored fields are ignored so that a newer writer never breaks an older reader.
    model_config = ConfigDict(extra="ignore")

    id: str
    status: ExportStatus = ExportStatus.QUEUED
    created_at: datetime
    updated_at: datetime
    request_event_id: str | None = None

    attempts: int = 0
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    # After a transient failure: not claimed again before this time.
    not_before: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    rows: int = 0
    orders_total: int | None = None
    # 0..1, never decreasing while the export runs (also across a retried attempt).
    progress: float = 0.0

    file_name: str | None = None
    file_key: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    error: str | None = None
    expires_at: datetime | None = None
    file_deleted_at: datetime | None = None
    completion_published: bool = False

    def to_document(self) -> dict[str, Any]:
        doc = self.model_dump(mode="python", exclude={"id"})
        return {"_id": self.id, **doc}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> ExportRecord:
        data = {k: v for k, v in doc.items() if k != "_id"}
        return cls.model_validate({"id": doc["_id"], **data})


def new_export_id() -> str:
    return f"exp-{uuid.uuid4().hex}"


def is_valid_export_id(value: str) -> bool:
    return bool(_EXPORT_ID.match(value))


def download_name(export_id: str, export_format: ExportFormat) -> str:
    """The file name a user downloads (Content-Disposition)."""
    return f"orders-{export_id}.{export_format.value}"


def file_key(export_id: str, attempt: int, export_format: ExportFormat) -> str:
    """The stored file of one attempt: a late, superseded attempt never overwrites another's."""
    return f"{export_id}.{attempt}.{export_format.value}"


def covers_shops(record: ExportRecord, caller_shops: list[str] | frozenset[str] | set[str]) -> bool:
    """A caller may see or download an export only with access to every shop in it."""
    return set(record.shop_ids) <= set(caller_shops)


def download_refusal(record: ExportRecord, now: datetime) -> str | None:
    """Why the record's file cannot be served now, or None when it can."""
    if record.status != ExportStatus.SUCCEEDED:
        return f"export is {record.status.value}"
    if record.file_key is None or record.sha256 is None or record.bytes is None:
        return "export has no file"
    if record.file_deleted_at is not None or (
        record.expires_at is not None and record.expires_at <= now
    ):
        return "export file has expired"
    return None
