"""CSV files read back with Python's csv module."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from orderlens.domain.order import Order
from orderlens.events import Granularity
from orderlens.roles import Role
from orderlens_exporter.adapters.csv_writer import CsvExportWriter
from orderlens_exporter.domain.csv_rows import neutralise
from orderlens_exporter.domain.rows import LINE_COLUMNS, Column, Row, order_rows

MakeOrder = Callable[..., Order]
COLUMNS = (Column("Text", 10), Column("Amount", 10), Column("Time", 10), Column("Qty", 5))


def write(path: Path, rows: list[Row], columns: tuple[Column, ...] = COLUMNS) -> list[list[str]]:
    writer = CsvExportWriter(path, columns)
    writer.write_rows(rows)
    writer.close()
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1-555-0100", "'+1-555-0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("plain = fine", "plain = fine"),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_evaluate_is_neutralised(text: str, expected: str) -> None:
    assert neutralise(text) == expected


def test_cells_round_trip_through_rfc4180_quoting(tmp_path: Path) -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    rows: list[Row] = [
        ('Quote " comma , newline\nend', Decimal("-5.00"), moment, 3),
        ("Zoë 東京 🎁", Decimal("0.10"), None, None),
        ("=cmd|' /C calc'!A0", Decimal("1200"), None, 0),
    ]
    header, *read = write(tmp_path / "x.csv", rows)
    assert header == ["Text", "Amount", "Time", "Qty"]
    assert read == [
        ['Quote " comma , newline\nend', "-5.00", "2026-03-29T03:30:00+02:00", "3"],
        ["Zoë 東京 🎁", "0.10", "", ""],
        ["'=cmd|' /C calc'!A0", "1200", "", "0"],
    ]


def test_lines_end_with_crlf_and_the_file_is_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    write(path, [("Zoë", Decimal("1.00"), None, 1)])
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == 2
    assert "Zoë".encode() in raw
    assert not raw.startswith(b"\xef\xbb\xbf")


def test_an_order_reads_back_cell_by_cell(tmp_path: Path, make_order: MakeOrder) -> None:
    order = make_order(seller_note="=1+1", buyer_message="@admin please")
    rows = order_rows(
        order, role=Role.ADMIN, zone=ZoneInfo("America/New_York"), granularity=Granularity.LINE
    )
    header, lip, hoodie = write(tmp_path / "o.csv", rows, LINE_COLUMNS)
    values = dict(zip(header, lip, strict=True))
    assert values["Order ID"] == order.id
    assert values["Created Time"] == "2025-11-20T03:16:00-05:00"
    assert values["SKU Subtotal After Discount"] == "19.98"
    assert values["Seller Note"] == "'=1+1"
    assert values["Buyer Message"] == "'@admin please"
    assert values["Phone"] == "(+1)678722626"  # "(" is not a formula trigger
    assert dict(zip(header, hoodie, strict=True))["SKU ID"] == "200"
