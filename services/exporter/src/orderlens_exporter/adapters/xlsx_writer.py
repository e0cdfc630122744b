"""XLSX export files: XlsxWriter in constant-memory mode, typed cells, a sheet per 1,048,575 rows.

- Times are Excel date-times (Excel has no time zones): the local time of the requested zone,
  displayed with its UTC offset through the cell's number format (`yyyy-mm-dd hh:mm:ss "+08:00"`),
  one format per offset, so rows on both sides of a daylight-saving change stay right.
- Money is a number with the currency's decimal places; whole numbers are numbers.
- Text is always written as a string cell, never as a formula, so it needs no neutralising.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from orderlens_exporter.domain.rows import Column, Row

# Excel's row limit is 1,048,576 including the header row.
MAX_DATA_ROWS_PER_SHEET = 1_048_575
SHEET_TITLE = "Orders"
TIME_PATTERN = "yyyy-mm-dd hh:mm:ss"


def offset_label(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def sheet_name(index: int) -> str:
    return SHEET_TITLE if index == 1 else f"{SHEET_TITLE} {index}"


class XlsxExportWriter:
    def __init__(
        self,
        path: Path,
        columns: tuple[Column, ...],
        *,
        tmpdir: Path | None = None,
        rows_per_sheet: int = MAX_DATA_ROWS_PER_SHEET,
    ) -> None:
        if not 1 <= rows_per_sheet <= MAX_DATA_ROWS_PER_SHEET:
            raise ValueError(f"rows_per_sheet must be 1..{MAX_DATA_ROWS_PER_SHEET}")
        # Constant-memory mode spills each sheet's rows to named temporary files: keep them in a
        # directory of their own, removed when the writer closes or aborts.
        self._tmpdir = Path(tempfile.mkdtemp(prefix="xlsx-", dir=tmpdir))
        options: dict[str, Any] = {
            "constant_memory": True,
            "tmpdir": str(self._tmpdir),
            "use_zip64": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        }
        self._workbook = xlsxwriter.Workbook(str(path), options)
        self._columns = columns
        self._rows_per_sheet = rows_per_sheet
        self._header = self._workbook.add_format({"bold": True})
        self._money_formats: dict[int, Format] = {}
        self._time_formats: dict[timedelta | None, Format] = {}
        self._sheets = 0
        self._row = 0
        self._sheet: Worksheet = self._new_sheet()
        self.rows = 0

    def _new_sheet(self) -> Worksheet:
        self._sheets += 1
        sheet = self._workbook.add_worksheet(sheet_name(self._sheets))
        for index, column in enumerate(self._columns):
            sheet.set_column(index, index, column.width)
        sheet.freeze_panes(1, 0)
        for index, column in enumerate(self._columns):
            sheet.write_string(0, index, column.name, self._header)
        self._row = 0
        return sheet

    def _money_format(self, value: Decimal) -> Format:
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        found = self._money_formats.get(places)
        if found is None:
            pattern = "#,##0." + "0" * places if places else "#,##0"
            found = self._workbook.add_format({"num_format": pattern})
            self._money_formats[places] = found
        return found

    def _time_format(self, moment: datetime) -> Format:
        offset = moment.utcoffset()
        found = self._time_formats.get(offset)
        if found is None:
            label = offset_label(moment)
            found = self._workbook.add_format({"num_format": f'{TIME_PATTERN} "{label}"'})
            self._time_formats[offset] = found
        return found

    def write_rows(self, rows: Iterable[Row]) -> int:
        count = 0
        for row in rows:
            if self._row >= self._rows_per_sheet:
                self._sheet = self._new_sheet()
            self._row += 1
            self._write_row(self._row, row)
            count += 1
        self.rows += count
        return count

    def _write_row(self, row_index: int, row: Row) -> None:
        sheet = self._sheet
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(row_index, col, value)
            elif isinstance(value, datetime):
                naive = value.replace(tzinfo=None)
                sheet.write_datetime(row_index, col, naive, self._time_format(value))
            elif isinstance(value, Decimal):
                sheet.write_number(row_index, col, float(value), self._money_format(value))
            else:
                sheet.write_number(row_index, col, value)

    def close(self) -> None:
        try:
            self._workbook.close()
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def abort(self) -> None:
        for sheet in self._workbook.worksheets():
            handle = getattr(sheet, "row_data_fh", None)
            if handle is not None:
                handle.close()
        # Mark it closed so that XlsxWriter does not warn (or write) when it is collected.
        self._workbook.fileclosed = True
        shutil.rmtree(self._tmpdir, ignore_errors=True)
