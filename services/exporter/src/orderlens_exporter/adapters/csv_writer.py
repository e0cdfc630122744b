"""CSV export files: UTF-8, a header row, RFC 4180 quoting, formula injection neutralised."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from orderlens_exporter.domain.csv_rows import FORMULA_TRIGGERS, neutralise
from orderlens_exporter.domain.rows import Cell, Column, Row

_BUFFER = 1024 * 1024


def csv_cell(value: Cell) -> str:
    """A cell as CSV text. Only text is neutralised: numbers (a negative amount too) and times
    are produced by this program, never by a buyer, and must stay numbers for a spreadsheet."""
    # Exact type checks, most frequent first: this runs for every cell of every row.
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        return "'" + text if text.startswith(FORMULA_TRIGGERS) else text
    if value is None:
        return ""
    if kind is Decimal:
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


class CsvExportWriter:
    def __init__(self, path: Path, columns: tuple[Column, ...]) -> None:
        self._file = path.open("w", encoding="utf-8", newline="", buffering=_BUFFER)
        # The default dialect is RFC 4180: comma, double quotes doubled, CRLF line ends,
        # quoting only where a comma, quote or line break requires it.
        self._writer = csv.writer(self._file)
        self._writer.writerow([neutralise(column.name) for column in columns])
        self.rows = 0

    def write_rows(self, rows: Iterable[Row]) -> int:
        count = 0
        write = self._writer.writerow
        for row in rows:
            write([csv_cell(value) for value in row])
            count += 1
        self.rows += count
        return count

    def write_text_rows(self, rows: list[list[str]]) -> int:
        """Rows whose cells are already CSV text (`csv_rows.CsvRowBuilder`), in one call."""
        self._writer.writerows(rows)
        self.rows += len(rows)
        return len(rows)

    def close(self) -> None:
        self._file.flush()
        self._file.close()

    def abort(self) -> None:
        self._file.close()
