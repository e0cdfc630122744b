"""The export's fast path writes exactly what the typed-cell path over the full read model writes.

Reference: `Order.from_document` -> `rows.order_rows` (masking by `orderlens.masking.mask_order`)
-> `CsvExportWriter.write_rows` (`csv_cell`), the exporter's path before the slim model and the
text rows. Fast path: `export_order` -> `CsvRowBuilder` -> `write_text_rows`, and,
for XLSX, `rows.order_rows` over `ExportOrder`. The orders are the seed generator's, plus
deterministic variations of them that reach the rarer branches (several packages, missing
original prices, other currencies, negative amounts, text a spreadsheet would evaluate).
"""

from __future__ import annotations

import copy
import random
from collections.abc import AsyncGenerator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from orderlens.domain.order import Order
from orderlens.events import ExportFormat, ExportRequested, Granularity
from orderlens.export_events import record_from_request
from orderlens.mongo import Document
from orderlens.normalise import normalise
from orderlens.roles import Role
from orderlens_devtools.seed import SeedConfig, final_snapshots
from orderlens_exporter.adapters.csv_writer import CsvExportWriter
from orderlens_exporter.domain.csv_rows import CsvRowBuilder, _amount
from orderlens_exporter.domain.export_model import EXPORT_PROJECTION, export_order
from orderlens_exporter.domain.rows import columns_for, order_rows
from orderlens_exporter.pipeline import InvalidExport, Progress, plan_export, write_export

SYNCED = datetime(2026, 5, 1, tzinfo=UTC)
SEED = SeedConfig(orders=400, shops=3, seed=7, end=SYNCED)
ZONES = ("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Australia/Adelaide")
ROLES = (Role.ADMIN, Role.ANALYST, Role.OPERATIONS, Role.CUSTOMER_SERVICE)
TRICKY_TEXT = ("=SUM(A1:A2)", "+49 170 000", "-minus", "@handle", "\tTab", "\rCR", 'a "q", b\nc')


def _vary(document: Document, rng: random.Random, index: int) -> Document:
    """One deterministic variation of a stored order document."""
    doc = copy.deepcopy(document)
    kind = index % 8
    if kind == 0:
        doc["money"]["currency"] = rng.choice(("JPY", "BHD", "KWD", "IDR", "usd"))
        doc["money"]["shipping_fee"] = None
        doc["money"]["tax"] = -rng.randrange(1, 10**6)
    elif kind == 1:
        for item in doc["items"]:
            item["unit_original_price"] = None
            item["quantity"] = rng.choice((1, 3, 7))
            item["subtotal_before_discount"] = rng.randrange(0, 10**7)
    elif kind == 2:
        text = rng.choice(TRICKY_TEXT)
        doc["seller_note"] = text
        doc["buyer"]["message"] = text
        doc["recipient"]["name"] = text
        doc["recipient"]["lines"] = [text, "2nd line"]
        doc["items"][0]["product_name"] = text
        doc["payment_method"] = text
    elif kind == 3:
        # Several packages, items in some of them, tracking progressed.
        base = doc["created_at"]
        doc["packages"] = [
            {
                "package_id": f"pk{n}",
                "carrier": rng.choice(("USPS", "UPS", "", None)),
                "tracking_number": rng.choice((f"TN{n}", None)),
                "tracking_status": rng.choice(("IN_TRANSIT", "DELIVERED", "EXCEPTION")),
                "estimated_delivery_at": rng.choice((None, base + timedelta(days=n + 2))),
                "checkpoints": [],
            }
            for n in range(rng.choice((2, 3)))
        ]
        for item in doc["items"]:
            item["package_ids"] = rng.choice((["pk0"], ["pk1", "pk0"], ["nope"], []))
        doc["estimated_delivery_at"] = base + timedelta(days=9)
    elif kind == 4:
        doc["recipient"] = {"city": "Köln", "postal_code": "SW1A 1AA", "country_code": "DE"}
        doc["buyer"] = {}
        doc["packages"] = []
        doc["estimated_delivery_at"] = doc["created_at"] + timedelta(days=3)
    elif kind == 5:
        doc["recipient"]["lines"] = []
        doc["recipient"]["full_address"] = "1 Full Address Road, Town"
        doc["return_status"] = "REFUNDED"
        doc["money"]["total"] = 10**30 + 1  # beyond Decimal's 28 digits
    elif kind == 6:
        for name in ("paid_at", "shipped_at", "delivered_at", "cancelled_at"):
            doc[name] = doc["created_at"] + timedelta(hours=rng.randrange(1, 24 * 200))
    return doc


def _documents() -> list[Document]:
    documents = [normalise(s.shop_id, s.order, SYNCED).to_document() for s in final_snapshots(SEED)]
    rng = random.Random(5)
    return documents + [_vary(d, rng, i) for i, d in enumerate(documents)]


DOCUMENTS = _documents()


def _reference_csv(path: Path, documents: list[Document], **plan: Any) -> bytes:
    writer = CsvExportWriter(path, columns_for(plan["granularity"]))
    for document in documents:
        writer.write_rows(order_rows(Order.from_document(document), **plan))
    writer.close()
    return path.read_bytes()


def _fast_csv(path: Path, documents: list[Document], **plan: Any) -> bytes:
    writer = CsvExportWriter(path, columns_for(plan["granularity"]))
    builder = CsvRowBuilder(**plan)
    # As read through the projection: only the exported fields.
    projected = [
        {k: v for k, v in d.items() if k in EXPORT_PROJECTION or k == "_id"} for d in documents
    ]
    writer.write_text_rows(builder.rows(export_order(d) for d in projected))
    writer.close()
    return path.read_bytes()


def _plans() -> Iterator[dict[str, Any]]:
    for granularity in Granularity:
        for role in ROLES:
            for zone in ZONES:
                yield {"role": role, "zone": ZoneInfo(zone), "granularity": granularity}


def test_the_variations_reach_the_rare_branches() -> None:
    # Guards the test itself: without these the comparison below would prove less.
    assert len(DOCUMENTS) == 2 * SEED.orders
    assert any(len(d["packages"]) > 1 for d in DOCUMENTS)
    assert any(i.get("unit_original_price") is None for d in DOCUMENTS for i in d["items"])
    assert any(str(d["seller_note"]).startswith(("=", "+", "-", "@")) for d in DOCUMENTS)
    assert {d["money"]["currency"] for d in DOCUMENTS} >= {"JPY", "BHD", "USD"}


@pytest.mark.parametrize(
    "plan", list(_plans()), ids=lambda p: f"{p['granularity']}-{p['role']}-{p['zone']}"
)
def test_csv_is_byte_identical_to_the_typed_cell_path(tmp_path: Path, plan: dict[str, Any]) -> None:
    reference = _reference_csv(tmp_path / "reference.csv", DOCUMENTS, **plan)
    fast = _fast_csv(tmp_path / "fast.csv", DOCUMENTS, **plan)
    assert reference.count(b"\r\n") > len(DOCUMENTS)
    if fast != reference:  # name the first differing line, not two 1 MB blobs
        pairs = zip(fast.split(b"\r\n"), reference.split(b"\r\n"), strict=False)
        first = next((i, f, r) for i, (f, r) in enumerate(pairs) if f != r)
        pytest.fail(f"line {first[0]} differs:\nfast      {first[1]!r}\nreference {first[2]!r}")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.ANALYST])
@pytest.mark.parametrize("granularity", list(Granularity))
def test_xlsx_cells_from_the_slim_model_equal_those_from_the_read_model(
    role: Role, granularity: Granularity
) -> None:
    zone = ZoneInfo("America/New_York")
    for document in DOCUMENTS:
        plan: dict[str, Any] = {"role": role, "zone": zone, "granularity": granularity}
        expected = order_rows(Order.from_document(document), **plan)
        assert order_rows(export_order(document), **plan) == expected


@pytest.mark.parametrize("places", [0, 1, 2, 3, 4])
def test_amounts_are_formatted_as_the_decimal_would_be(places: int) -> None:
    values = [*range(-2_500, 2_500), 10**27 - 1, -(10**27) + 1, 10**27, 10**40 + 7, -(10**31)]
    for minor in values:
        assert _amount(minor, places) == format(Decimal(minor).scaleb(-places), "f"), minor


async def _batches(documents: list[Document]) -> AsyncGenerator[list[Document], None]:
    for start in range(0, len(documents), 64):
        yield documents[start : start + 64]


def _record(export_format: str, granularity: str, role: str, tz: str) -> Any:
    request = ExportRequested(
        export_id="eq",
        shop_ids=["shop-1"],
        requested_by="test",
        role=role,
        format=ExportFormat(export_format),
        granularity=Granularity(granularity),
        tz=tz,
    )
    return record_from_request(request, now=SYNCED)


@pytest.mark.parametrize("granularity", ["line", "order"])
async def test_the_pipeline_writes_the_reference_file(tmp_path: Path, granularity: str) -> None:
    plan = plan_export(_record("csv", granularity, "analyst", "Europe/Berlin"))
    path = tmp_path / "export.csv"
    await write_export(plan, _batches(DOCUMENTS), path, Progress())
    reference = _reference_csv(
        tmp_path / "reference.csv",
        DOCUMENTS,
        role=plan.role,
        zone=plan.zone,
        granularity=plan.granularity,
    )
    assert path.read_bytes() == reference


@pytest.mark.parametrize(
    "change",
    [
        {"status": "TELEPORTED"},
        {"created_at": "yesterday"},
        {"money": {"currency": "USD"}},
        {"items": [{"sku_id": "1", "product_name": "x", "quantity": "many"}]},
    ],
)
async def test_an_unreadable_order_still_fails_a_csv_export(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    bad = {**DOCUMENTS[1], **change}
    plan = plan_export(_record("csv", "line", "admin", "UTC"))
    with pytest.raises(InvalidExport, match=repr(bad["_id"])):
        await write_export(plan, _batches([DOCUMENTS[0], bad]), tmp_path / "x.csv", Progress())
