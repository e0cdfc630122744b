"""XLSX files read back with openpyxl: typed cells, frozen header, sheet roll-over."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from orderlens.domain.order import Order
from orderlens.events import Granularity
from orderlens.roles import Role
from orderlens_exporter.adapters.xlsx_writer import XlsxExportWriter
from orderlens_exporter.domain.rows import ORDER_COLUMNS, Column, Row, order_rows

MakeOrder = Callable[..., Order]
COLUMNS = (Column("Text", 10), Column("Amount", 10), Column("Time", 10), Column("Qty", 5))
BERLIN = ZoneInfo("Europe/Berlin")


def write(
    tmp_path: Path,
    rows: list[Row],
    *,
    columns: tuple[Column, ...] = COLUMNS,
    rows_per_sheet: int = 1_048_575,
) -> openpyxl.Workbook:
    path = tmp_path / "x.xlsx"
    writer = XlsxExportWriter(path, columns, tmpdir=tmp_path, rows_per_sheet=rows_per_sheet)
    writer.write_rows(rows)
    writer.close()
    assert [p.name for p in tmp_path.iterdir()] == ["x.xlsx"], "scratch files left behind"
    return openpyxl.load_workbook(path)


def sheet_values(sheet: Worksheet) -> list[tuple[object, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_cells_are_typed(tmp_path: Path) -> None:
    moment = datetime(2026, 1, 15, 8, 0, tzinfo=UTC).astimezone(BERLIN)
    book = write(tmp_path, [("=1+1", Decimal("12.30"), moment, 2)])
    sheet = book["Orders"]
    text, amount, time, qty = sheet[2]
    assert (text.value, text.data_type) == ("=1+1", "s")  # a string, never a formula
    assert (amount.value, amount.data_type, amount.number_format) == (12.3, "n", "#,##0.00")
    assert time.is_date
    assert time.value == datetime(2026, 1, 15, 9, 0)
    assert time.number_format == 'yyyy-mm-dd hh:mm:ss "+01:00"'
    assert (qty.value, qty.data_type) == (2, "n")


def test_each_offset_is_shown_even_across_a_daylight_saving_change(tmp_path: Path) -> None:
    before = datetime(2026, 3, 29, 0, 30, tzinfo=UTC).astimezone(BERLIN)
    after = datetime(2026, 3, 29, 1, 30, tzinfo=UTC).astimezone(BERLIN)
    book = write(tmp_path, [("a", None, before, None), ("b", None, after, None)])
    sheet = book["Orders"]
    assert sheet["C2"].value == datetime(2026, 3, 29, 1, 30)
    assert sheet["C2"].number_format.endswith('"+01:00"')
    assert sheet["C3"].value == datetime(2026, 3, 29, 3, 30)
    assert sheet["C3"].number_format.endswith('"+02:00"')


def test_header_is_frozen_and_missing_values_are_empty(tmp_path: Path) -> None:
    book = write(tmp_path, [("x", None, None, None)])
    sheet = book["Orders"]
    assert sheet.freeze_panes == "A2"
    assert sheet_values(sheet) == [("Text", "Amount", "Time", "Qty"), ("x", None, None, None)]


def test_a_new_sheet_starts_after_the_row_limit(tmp_path: Path) -> None:
    rows: list[Row] = [(f"r{i}", Decimal(i), None, i) for i in range(7)]
    book = write(tmp_path, rows, rows_per_sheet=3)
    assert book.sheetnames == ["Orders", "Orders 2", "Orders 3"]
    read = []
    for sheet in book.worksheets:
        values = sheet_values(sheet)
        assert values[0] == ("Text", "Amount", "Time", "Qty")
        assert sheet.freeze_panes == "A2"
        read.extend(v[0] for v in values[1:])
    assert read == [f"r{i}" for i in range(7)]
    assert len(sheet_values(book["Orders 3"])) == 2


def test_the_row_limit_is_excels() -> None:
    with pytest.raises(ValueError, match="rows_per_sheet"):
        XlsxExportWriter(Path("/nonexistent/x.xlsx"), COLUMNS, rows_per_sheet=1_048_576)


def test_an_aborted_writer_leaves_no_scratch_files(tmp_path: Path) -> None:
    writer = XlsxExportWriter(tmp_path / "x.xlsx", COLUMNS, tmpdir=tmp_path)
    writer.write_rows([("x", None, None, 1)] * 10)
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_an_order_reads_back_cell_by_cell(tmp_path: Path, make_order: MakeOrder) -> None:
    order = make_order(payment={"currency": "KWD", "total_amount": "12.345"})
    rows = order_rows(order, role=Role.ANALYST, zone=BERLIN, granularity=Granularity.ORDER)
    book = write(tmp_path, rows, columns=ORDER_COLUMNS)
    header, row = sheet_values(book["Orders"])
    values = dict(zip(header, row, strict=True))
    assert values["Order ID"] == order.id
    assert values["Created Time"] == datetime(2025, 11, 20, 9, 16)
    assert values["Order Amount"] == pytest.approx(12.345)
    amount_cell = book["Orders"].cell(row=2, column=header.index("Order Amount") + 1)
    assert amount_cell.number_format == "#,##0.000"
    assert (values["Items"], values["Units"]) == (2, 3)
    assert values["Recipient"] == "O. W."
