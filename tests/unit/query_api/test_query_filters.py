"""The docs/contract.md §5.2 parameter parsing and the MongoDB filters built from it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from orderlens.domain.status import OrderStatus
from orderlens.filters import (
    CursorPosition,
    FilterError,
    Sort,
    SortKey,
    build_mongo_filter,
    decode_cursor,
    encode_cursor,
    keyset_filter,
    parse_filters,
    parse_list_query,
    with_keyset,
)

SHOPS = ["s1", "s2"]


def error_params(params: dict[str, str | list[str]]) -> list[str]:
    with pytest.raises(FilterError) as caught:
        parse_list_query(params)
    return [e.param for e in caught.value.errors]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"colour": "red"}, "colour"),
        ({"status[$ne]": "x"}, "status[$ne]"),
        ({"status": "$ne"}, "status"),
        ({"buyer": '{"$gt": ""}'}, "buyer"),
        ({"status": "SHIPPED_TO_MARS"}, "status"),
        ({"view": "nowhere"}, "view"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"paid_to": "2024-02-30"}, "paid_to"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"tz": "../../etc/passwd"}, "tz"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"sort": "price"}, "sort"),
        ({"total_min": "-1"}, "total_min"),
        ({"total_min": "1e9"}, "total_min"),
        ({"is_cod": "maybe"}, "is_cod"),
        ({"stalled_hours": "0"}, "stalled_hours"),
        ({"currency": "dollars"}, "currency"),
        ({"buyer": ["a", "b"]}, "buyer"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"created_from": "2024-05-02", "created_to": "2024-05-01"}, "created_to"),
        ({"total_min": "10", "total_max": "5"}, "total_max"),
        ({"product": "x" * 201}, "product"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, str | list[str]], param: str) -> None:
    assert error_params(params) == [param]


def test_every_bad_parameter_is_reported() -> None:
    assert sorted(error_params({"limit": "0", "status": "NOPE", "x": "1"})) == [
        "limit",
        "status",
        "x",
    ]


def test_paging_parameters_are_unknown_to_plain_filters() -> None:
    with pytest.raises(FilterError):
        parse_filters({"limit": "5"})
    assert parse_filters({"limit": "5", "status": "UNPAID"}, ignore={"limit"}).status == (
        OrderStatus.UNPAID,
    )


def test_values_are_parsed() -> None:
    filters, options = parse_list_query(
        {
            "status": ["cancel", "UNPAID"],
            "view": "TO_SHIP",
            "created_from": "2024-03-01",
            "created_to": "2024-03-31T12:00:00+02:00",
            "tz": "Europe/Paris",
            "total_min": "10.5",
            "is_cod": "true",
            "limit": "200",
            "sort": "-total",
            "include_total": "1",
            "currency": "usd",
        }
    )
    assert filters.status == (OrderStatus.CANCELLED, OrderStatus.UNPAID)
    assert filters.created_from == date(2024, 3, 1)
    assert filters.is_cod is True
    assert filters.currency == ("USD",)
    assert options.limit == 200
    assert options.sort == Sort(SortKey.TOTAL, descending=True)
    assert options.include_total is True
    created = filters.time_range("created")
    assert created is not None
    assert created.start == datetime(2024, 2, 29, 23, 0, tzinfo=UTC)
    assert created.end == datetime(2024, 3, 31, 10, 0, tzinfo=UTC)
    assert created.end_inclusive


def test_a_to_date_includes_its_whole_day_in_the_time_zone() -> None:
    # 2024-03-31 is 23 hours long in Paris (clocks go forward).
    filters = parse_filters({"paid_to": "2024-03-31", "tz": "Europe/Paris"})
    paid = filters.time_range("paid")
    assert paid is not None
    assert paid.end == datetime(2024, 3, 31, 22, 0, tzinfo=UTC)
    assert not paid.end_inclusive
    assert build_mongo_filter(filters, SHOPS)["paid_at"] == {"$lt": paid.end}


def test_empty_values_are_ignored() -> None:
    assert parse_filters({"status": "", "buyer": "  "}) == parse_filters({})


def test_the_shop_scope_is_always_the_tokens() -> None:
    assert build_mongo_filter(parse_filters({}), SHOPS) == {"shop_id": {"$in": SHOPS}}
    scoped = build_mongo_filter(parse_filters({"shop_id": ["s2", "other"]}), SHOPS)
    assert scoped["shop_id"] == {"$in": ["s2"]}
    nothing = build_mongo_filter(parse_filters({"shop_id": "other"}), SHOPS)
    assert nothing["shop_id"] == {"$in": []}


def test_user_input_is_escaped_in_patterns() -> None:
    query = build_mongo_filter(parse_filters({"product": "a.b*(c"}), SHOPS)
    assert query["product_names"] == {"$regex": r"a\.b\*\(c", "$options": "i"}


def test_masked_roles_cannot_search_by_pii() -> None:
    filters = parse_filters({"buyer": "Jane", "q": "jane@example.com"})
    full = build_mongo_filter(filters, SHOPS)
    masked = build_mongo_filter(filters, SHOPS, pii=False)
    assert "recipient.name" in str(full)
    assert "buyer.email" in str(full)
    assert "recipient.name" not in str(masked)
    assert "buyer.email" not in str(masked)


def test_totals_respect_each_currency_exponent() -> None:
    query = build_mongo_filter(parse_filters({"total_min": "10.005", "currency": "JPY"}), SHOPS)
    assert query["money.currency"] == "JPY"
    assert query["money.total"] == {"$gte": 11}
    either = build_mongo_filter(parse_filters({"total_max": "12.34"}), SHOPS)
    branches = either["$and"][0]["$or"]
    assert {
        "money.currency": {"$in": ["CLP", "ISK", "JPY", "KRW", "VND"]},
        "money.total": {"$lte": 12},
    } in branches
    assert any(b["money.total"] == {"$lte": 1234} for b in branches)


def test_stalled_orders_are_in_transit_without_recent_checkpoints() -> None:
    now = datetime(2024, 1, 2, tzinfo=UTC)
    query = build_mongo_filter(parse_filters({"stalled_hours": "24"}), SHOPS, now=now)
    assert query["status"] == {"$in": ["AWAITING_COLLECTION", "IN_TRANSIT"]}
    cutoff = now - timedelta(hours=24)
    assert {"last_checkpoint_at": {"$lt": cutoff}} in query["$and"][0]["$or"]


def test_views_and_statuses_combine() -> None:
    query = build_mongo_filter(parse_filters({"view": ["unpaid", "returns"]}), SHOPS)
    assert query["$and"] == [
        {"$or": [{"status": {"$in": ["ON_HOLD", "UNPAID"]}}, {"return_status": {"$ne": "NONE"}}]}
    ]


def test_filters_round_trip_through_query_params() -> None:
    params = {
        "status": ["UNPAID"],
        "created_from": "2024-03-01",
        "tz": "Asia/Tokyo",
        "total_min": "5",
        "is_cod": "false",
    }
    filters = parse_filters(params)
    assert parse_filters(filters.query_params()) == filters


@pytest.mark.parametrize(
    ("sort", "document"),
    [
        (Sort(), {"_id": "o1", "created_at": datetime(2024, 1, 1, 12, 30, tzinfo=UTC)}),
        (Sort(SortKey.TOTAL, False), {"_id": "o1", "money": {"total": 1999}}),
        (Sort(SortKey.PAID_AT, False), {"_id": "o1", "paid_at": None}),
    ],
)
def test_cursors_round_trip(sort: Sort, document: dict[str, object]) -> None:
    position = decode_cursor(sort, encode_cursor(sort, document))
    assert position.order_id == "o1"


def test_a_cursor_of_another_sort_is_refused() -> None:
    cursor = encode_cursor(Sort(), {"_id": "o1", "created_at": datetime(2024, 1, 1, tzinfo=UTC)})
    with pytest.raises(FilterError):
        decode_cursor(Sort(SortKey.UPDATED_AT), cursor)


@pytest.mark.parametrize("forged", ["abc.Ω", "Ω.abc", "é"])
def test_a_forged_cursor_with_any_text_is_refused_not_an_error(forged: str) -> None:
    # Found by schemathesis: a non-ASCII signature made `hmac.compare_digest` raise (a 500).
    with pytest.raises(FilterError, match="cursor"):
        decode_cursor(Sort(), forged, b"secret")


def test_keyset_conditions() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    assert keyset_filter(Sort(), CursorPosition(at, "o5")) == {
        "$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": "o5"}}]
    }
    paid_asc_null = keyset_filter(Sort(SortKey.PAID_AT, False), CursorPosition(None, "o5"))
    assert paid_asc_null == {
        "$or": [{"paid_at": None, "_id": {"$gt": "o5"}}, {"paid_at": {"$ne": None}}]
    }
    query = with_keyset({"shop_id": "s"}, Sort(), CursorPosition(at, "o5"))
    assert query["shop_id"] == "s"
    assert len(query["$and"]) == 1
