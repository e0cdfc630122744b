"""Exports through the real stack: requested over HTTP, carried by Kafka, read from a real
MongoDB-wire server, downloaded over HTTP and read back cell by cell."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from exp_expect import as_csv_text, expected_rows
from exp_stack import ExportStack

from orderlens.domain.order import Order
from orderlens.roles import Role
from orderlens_exporter.domain.rows import LINE_COLUMNS, ORDER_COLUMNS


def by_id(stack: ExportStack) -> dict[str, Order]:
    return {order.id: order for order in stack.orders}


async def test_csv_rows_equal_the_order_list_and_each_cell_matches_its_order(
    stack: ExportStack,
) -> None:
    shops = stack.shops[:2]
    filters = {"shop_id": shops, "view": ["shipped", "delivered", "completed"], "total_min": "20"}
    export_id = await stack.request(
        {"format": "csv", "granularity": "line", "filters": filters, "tz": "America/New_York"}
    )
    view = await stack.wait(export_id)
    assert view["status"] == "succeeded", view

    listed = await stack.order_ids(
        [("view", v) for v in filters["view"]]
        + [("shop_id", s) for s in shops]
        + [("total_min", "20"), ("tz", "America/New_York")]
    )
    assert len(listed) > 20, "the filter should select a meaningful slice"

    download = await stack.api.get(f"/v1/exports/{export_id}/download", headers=stack.auth())
    assert download.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(download.content.decode("utf-8"), newline="")))
    assert header == [c.name for c in LINE_COLUMNS]

    exported_ids = list(dict.fromkeys(row[0] for row in rows))
    assert sorted(exported_ids) == sorted(listed)
    assert len(exported_ids) == len(rows) - sum(len(by_id(stack)[i].items) - 1 for i in listed)

    zone = ZoneInfo("America/New_York")
    expected = [
        [as_csv_text(cells[name]) for name in header]
        for order_id in exported_ids
        for cells in expected_rows(
            by_id(stack)[order_id], zone=zone, granularity="line", masked=False
        )
    ]
    assert rows == expected
    assert view["rows"] == len(rows)
    assert view["progress"] == 1.0
    # Some rows carry text a spreadsheet would run as a formula: it arrives neutralised.
    assert any(row[header.index("Seller Note")].startswith("'=HYPERLINK") for row in rows)


async def test_xlsx_for_an_analyst_has_typed_cells_and_masked_pii(stack: ExportStack) -> None:
    shop = stack.shops[2]
    export_id = await stack.request(
        {
            "format": "xlsx",
            "granularity": "order",
            "filters": {"shop_id": [shop]},
            "tz": "Asia/Tokyo",
        },
        role=Role.ANALYST,
    )
    view = await stack.wait(export_id, role=Role.ANALYST)
    assert view["status"] == "succeeded", view
    download = await stack.api.get(
        f"/v1/exports/{export_id}/download", headers=stack.auth(Role.ANALYST)
    )
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(download.content))
    assert book.sheetnames == ["Orders"]
    sheet = book["Orders"]
    assert sheet.freeze_panes == "A2"
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert list(header) == [c.name for c in ORDER_COLUMNS]

    mine = [o for o in stack.orders if o.shop_id == shop]
    assert sorted(str(r[0]) for r in rows) == sorted(o.id for o in mine)
    zone = ZoneInfo("Asia/Tokyo")
    for row in rows:
        (cells,) = expected_rows(
            by_id(stack)[str(row[0])], zone=zone, granularity="order", masked=True
        )
        for name, value in zip(header, row, strict=True):
            wanted = cells[name]
            if isinstance(wanted, datetime):
                assert value == wanted.replace(tzinfo=None), name
            elif isinstance(wanted, Decimal):
                assert value == pytest.approx(float(wanted)), name
            elif wanted == "":
                assert value in ("", None), name
            else:
                assert value == wanted, name
    # Masked as docs/contract.md §5.1 says: no full name, phone, e-mail or street anywhere in
    # the file.
    for order in mine:
        text = {str(v) for row in rows for v in row}
        assert order.recipient.name not in text
        assert order.buyer.email not in text
        assert not any(line in text for line in order.recipient.lines)
    created = sheet.cell(row=2, column=header.index("Created Time") + 1)
    assert created.is_date
    assert created.number_format.endswith('"+09:00"')


async def test_download_headers_name_type_size_and_digest(stack: ExportStack) -> None:
    export_id = await stack.request({"format": "csv", "filters": {"status": ["CANCELLED"]}})
    view = await stack.wait(export_id)
    response = await stack.api.get(f"/v1/exports/{export_id}/download", headers=stack.auth())
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"] == f'attachment; filename="orders-{export_id}.csv"'
    )
    assert int(response.headers["content-length"]) == len(response.content) == view["bytes"]
    digest = hashlib.sha256(response.content).digest()
    assert response.headers["repr-digest"] == f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert view["sha256"] == digest.hex()
    assert view["file_name"] == f"orders-{export_id}.csv"
    assert view["download_url"] == f"/v1/exports/{export_id}/download"


async def test_only_callers_with_every_shop_and_enough_pii_rights_see_an_export(
    stack: ExportStack,
) -> None:
    export_id = await stack.request({"format": "csv", "filters": {}})
    await stack.wait(export_id)
    path = f"/v1/exports/{export_id}"

    other_shops = stack.auth(Role.ADMIN, shops=["some-other-shop"])
    one_shop = stack.auth(Role.ADMIN, shops=stack.shops[:1])
    analyst = stack.auth(Role.ANALYST)
    colleague = stack.auth(Role.OPERATIONS, sub="colleague")
    for headers in (other_shops, one_shop, analyst):
        assert (await stack.api.get(path, headers=headers)).status_code == 404
        assert (await stack.api.get(f"{path}/download", headers=headers)).status_code == 404
    # Same shops and full PII: a colleague may fetch it, but it is not in their own list.
    assert (await stack.api.get(f"{path}/download", headers=colleague)).status_code == 200
    listed = (await stack.api.get("/v1/exports", headers=colleague)).json()["items"]
    assert export_id not in [item["export_id"] for item in listed]
    mine = (await stack.api.get("/v1/exports", headers=stack.auth())).json()["items"]
    assert export_id in [item["export_id"] for item in mine]

    customer_service = stack.auth(Role.CUSTOMER_SERVICE)
    for response in (
        await stack.api.post("/v1/exports", json={"format": "csv"}, headers=customer_service),
        await stack.api.get(path, headers=customer_service),
        await stack.api.get("/v1/exports", headers=customer_service),
    ):
        assert response.status_code == 403
        assert response.headers["content-type"] == "application/problem+json"
    assert (await stack.api.get(path)).status_code == 401


@pytest.mark.parametrize(
    "export_id",
    ["..%2F..%2Fetc%2Fpasswd", "..", "exp-1.1.csv", "%2Fetc%2Fpasswd", "a" * 65],
)
async def test_no_export_id_reaches_outside_the_export_files(
    stack: ExportStack, export_id: str
) -> None:
    response = await stack.api.get(f"/v1/exports/{export_id}/download", headers=stack.auth())
    assert response.status_code in (400, 404)
    assert b"root:" not in response.content


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"format": "pdf"}, "format"),
        ({"format": "csv", "colour": "red"}, "colour"),
        ({"format": "csv", "tz": "Mars/Olympus"}, "tz"),
        ({"format": "csv", "filters": {"status": ["TELEPORTED"]}}, "filters.status"),
        ({"format": "csv", "filters": {"shop": "x"}}, "filters.shop"),
        ({"format": "csv", "filters": {"q": {"$ne": 1}}}, "filters.q"),
        ({"format": "csv", "filters": {"total_min": "$gt"}}, "filters.total_min"),
    ],
)
async def test_a_bad_request_answers_400_naming_the_field(
    stack: ExportStack, body: dict[str, object], param: str
) -> None:
    response = await stack.api.post("/v1/exports", json=body, headers=stack.auth())
    assert response.status_code == 400, response.text
    assert param in response.json()["detail"]


async def test_exporting_a_shop_outside_the_token_is_forbidden(stack: ExportStack) -> None:
    response = await stack.api.post(
        "/v1/exports",
        json={"format": "csv", "filters": {"shop_id": [stack.shops[0], "not-mine"]}},
        headers=stack.auth(shops=stack.shops[:1]),
    )
    assert response.status_code == 403
    assert "not-mine" in response.json()["detail"]


async def test_a_retried_request_with_the_same_key_is_one_export(stack: ExportStack) -> None:
    headers = {**stack.auth(), "Idempotency-Key": "export-retry-1"}
    body = {"format": "xlsx", "filters": {"status": ["DELIVERED"]}}
    first = await stack.api.post("/v1/exports", json=body, headers=headers)
    again = await stack.api.post("/v1/exports", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["export_id"] == again.json()["export_id"]
    other = await stack.api.post("/v1/exports", json={**body, "format": "csv"}, headers=headers)
    assert other.status_code == 422
    await stack.wait(first.json()["export_id"])


async def test_json_numbers_and_booleans_are_read_as_query_values(stack: ExportStack) -> None:
    export_id = await stack.request(
        {"format": "csv", "filters": {"is_cod": False, "total_min": 10}, "tz": "Europe/Paris"}
    )
    view = await stack.wait(export_id)
    assert view["status"] == "succeeded", view
    assert view["filters"] == {"is_cod": "false", "total_min": "10", "tz": "Europe/Paris"}
    listed = await stack.order_ids(list(view["filters"].items()))
    assert view["rows"] == sum(len(o.items) for o in stack.orders if o.id in set(listed))
