"""The file writers' common shape, and the writer for an export format."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from orderlens.events import ExportFormat
from orderlens_exporter.adapters.csv_writer import CsvExportWriter
from orderlens_exporter.adapters.xlsx_writer import MAX_DATA_ROWS_PER_SHEET, XlsxExportWriter
from orderlens_exporter.domain.rows import Column, Row


class ExportWriter(Protocol):
    """Writes rows to one file, sequentially; `close` finishes the file, `abort` drops it."""

    def write_rows(self, rows: Iterable[Row]) -> int: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


def open_writer(
    export_format: ExportFormat,
    path: Path,
    columns: tuple[Column, ...],
    *,
    tmpdir: Path | None = None,
    rows_per_sheet: int = MAX_DATA_ROWS_PER_SHEET,
) -> ExportWriter:
    if export_format == ExportFormat.CSV:
        return CsvExportWriter(path, columns)
    return XlsxExportWriter(path, columns, tmpdir=tmpdir, rows_per_sheet=rows_per_sheet)
