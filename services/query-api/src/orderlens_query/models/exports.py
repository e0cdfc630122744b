"""The HTTP models of exports (docs/contract.md §5.5): the request body and the views of an
export record."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orderlens.domain.export import ExportRecord, ExportStatus, download_refusal
from orderlens.events import ExportFormat, Granularity

# Filter values as in a query string; JSON numbers and booleans are accepted and read as text.
Scalar = str | bool | int | float


def query_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ExportRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = Field(description="csv or xlsx.")
    granularity: Granularity = Field(
        default=Granularity.LINE, description="line: one row per SKU per order; order: one row."
    )
    filters: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        max_length=40,
        description="The parameters of GET /v1/orders (without paging), e.g. "
        '{"status": ["DELIVERED"], "created_from": "2026-01-01"}. Without `tz`, date-only '
        "bounds are read in this export's `tz`.",
    )
    tz: str = Field(default="UTC", description="IANA zone of the file's times.", max_length=64)


class ExportAccepted(BaseModel):
    export_id: str
    status: ExportStatus


class ExportView(BaseModel):
    export_id: str
    status: ExportStatus
    format: ExportFormat
    granularity: Granularity
    filters: dict[str, str | list[str]]
    tz: str
    shop_ids: list[str]
    requested_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    rows: int = Field(description="Rows written so far (the total once succeeded).")
    progress: float = Field(description="0..1; never decreases.")
    file_name: str | None
    bytes: int | None
    sha256: str | None
    error: str | None
    expires_at: datetime | None
    download_url: str | None = Field(description="Present while the file can be downloaded.")


class ExportPage(BaseModel):
    items: list[ExportView]
    next_cursor: str | None


def export_view(record: ExportRecord, now: datetime) -> ExportView:
    downloadable = download_refusal(record, now) is None
    return ExportView(
        export_id=record.id,
        status=record.status,
        format=record.format,
        granularity=record.granularity,
        filters=record.filters,
        tz=record.tz,
        shop_ids=record.shop_ids,
        requested_by=record.requested_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        attempts=record.attempts,
        rows=record.rows,
        progress=record.progress,
        file_name=record.file_name,
        bytes=record.bytes,
        sha256=record.sha256,
        error=record.error,
        expires_at=record.expires_at,
        download_url=f"/v1/exports/{record.id}/download" if downloadable else None,
    )
