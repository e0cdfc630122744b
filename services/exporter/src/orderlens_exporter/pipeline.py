"""The streaming core of an export: batches of order documents in, one finished file out.

Memory stays bounded: at most two batches of documents (the one being written and the next one
being fetched) and the writer's buffers. CPU-bound work (validating, masking, formatting,
writing) runs in a worker thread so that the event loop keeps renewing the lease and answering
health probes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from orderlens.domain.export import ExportRecord
from orderlens.events import ExportFormat, Granularity
from orderlens.filters import FilterError, build_mongo_filter, parse_filters, parse_tz
from orderlens.mongo import Document
from orderlens.roles import Role, sees_full_pii
from orderlens_exporter.adapters.csv_writer import CsvExportWriter
from orderlens_exporter.adapters.writers import ExportWriter, open_writer
from orderlens_exporter.adapters.xlsx_writer import MAX_DATA_ROWS_PER_SHEET
from orderlens_exporter.domain.csv_rows import CsvRowBuilder
from orderlens_exporter.domain.export_model import export_order
from orderlens_exporter.domain.rows import columns_for, iter_rows


class InvalidExport(ValueError):
    """An export that can never succeed (bad filters, role or time zone, unreadable order)."""


@dataclass(frozen=True)
class ExportPlan:
    """What one export writes, resolved from its record."""

    role: Role
    zone: ZoneInfo
    export_format: ExportFormat
    granularity: Granularity
    mongo_filter: Document


def plan_export(record: ExportRecord) -> ExportPlan:
    """Resolve a record's filters exactly as GET /v1/orders does for the same parameters.

    `now` (for `stalled_hours`) is the request time, so the slice is the one the user saw.
    """
    try:
        role = Role(record.role)
    except ValueError:
        raise InvalidExport(f"unknown role {record.role!r}") from None
    try:
        zone = parse_tz(record.tz)
        filters = parse_filters(record.filters)
    except (FilterError, ValueError) as exc:
        raise InvalidExport(f"invalid filters: {exc}") from None
    mongo_filter = build_mongo_filter(
        filters, record.shop_ids, now=record.created_at, pii=sees_full_pii(role)
    )
    return ExportPlan(role, zone, record.format, record.granularity, mongo_filter)


@dataclass
class Progress:
    """Counters the lease keeper reads while the export runs."""

    orders_total: int | None = None
    orders_done: int = 0
    rows: int = 0

    @property
    def fraction(self) -> float:
        """0..1; capped below 1 until the file is stored (the total is an estimate)."""
        if not self.orders_total:
            return 0.0
        return min(self.orders_done / self.orders_total, 0.99)


def _write_batch(
    writer: ExportWriter, documents: list[Document], plan: ExportPlan, csv_rows: CsvRowBuilder
) -> int:
    orders = []
    for document in documents:
        try:
            orders.append(export_order(document))
        except ValidationError as exc:
            raise InvalidExport(f"order {document.get('_id')!r} cannot be read: {exc}") from None
    if isinstance(writer, CsvExportWriter):
        # CSV cells are text: build them as text, skipping the typed cells (see csv_rows).
        return writer.write_text_rows(csv_rows.rows(orders))
    rows = iter_rows(orders, role=plan.role, zone=plan.zone, granularity=plan.granularity)
    return writer.write_rows(rows)


async def write_export(
    plan: ExportPlan,
    batches: AsyncGenerator[list[Document], None],
    path: Path,
    progress: Progress,
    *,
    scratch_dir: Path | None = None,
    rows_per_sheet: int = MAX_DATA_ROWS_PER_SHEET,
    on_rows: Callable[[int], None] | None = None,
) -> int:
    """Write every batch's rows to `path` and finish the file; the number of rows written.

    On any failure the writer is aborted and the exception propagates; `path` is then partial
    and must be discarded by the caller.
    """
    columns = columns_for(plan.granularity)
    writer = await asyncio.to_thread(
        open_writer,
        plan.export_format,
        path,
        columns,
        tmpdir=scratch_dir,
        rows_per_sheet=rows_per_sheet,
    )
    csv_rows = CsvRowBuilder(role=plan.role, zone=plan.zone, granularity=plan.granularity)
    pending: asyncio.Task[list[Document]] | None = None
    try:
        pending = asyncio.ensure_future(anext(batches, []))
        while True:
            documents = await pending
            pending = None
            if not documents:
                break
            # Fetch the next batch while this one is written.
            pending = asyncio.ensure_future(anext(batches, []))
            written = await asyncio.to_thread(_write_batch, writer, documents, plan, csv_rows)
            progress.rows += written
            progress.orders_done += len(documents)
            if on_rows is not None:
                on_rows(written)
        await asyncio.to_thread(writer.close)
    except BaseException:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await asyncio.to_thread(writer.abort)
        raise
    finally:
        with contextlib.suppress(Exception):
            await batches.aclose()
    return progress.rows
