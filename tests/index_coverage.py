"""Which declared index serves a query shape of `orderlens.filters`, by the equality-sort-range
rule (docs/decisions/0088). Used by tests/unit/library/test_index_coverage.py (static) and
tests/integration/test_index_explain.py (`explain` on a real MongoDB)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import IndexModel

from orderlens.filters import (
    FILTER_PARAMS,
    CursorPosition,
    Sort,
    SortKey,
    build_mongo_filter,
    parse_filters,
    with_keyset,
)

SHOPS = ["shop-a", "shop-b"]
NOW = datetime(2026, 6, 1, tzinfo=UTC)

# Every filter parameter with the values that give its different shapes (one value, several,
# a value that turns it into an `$or`).
SAMPLES: dict[str, list[str | list[str]]] = {
    "shop_id": ["shop-a", ["shop-a", "shop-b"]],
    "status": ["AWAITING_SHIPMENT", ["AWAITING_SHIPMENT", "IN_TRANSIT"]],
    "view": ["to_ship", "returns", ["to_ship", "returns"]],
    "created_from": ["2026-01-01"],
    "created_to": ["2026-02-01"],
    "paid_from": ["2026-01-01"],
    "paid_to": ["2026-02-01"],
    "updated_from": ["2026-01-01"],
    "updated_to": ["2026-02-01"],
    "tz": ["Europe/Berlin"],
    "sku": ["SKU-1", ["SKU-1", "SKU-2"]],
    "product": ["mug"],
    "buyer": ["ann"],
    "q": ["5770001"],
    "total_min": ["10.00"],
    "total_max": ["99.99"],
    "currency": ["USD", ["USD", "JPY"]],
    "payment_method": ["card", ["card", "cod"]],
    "country": ["US", "United States"],
    "state": ["CA", ["CA", "NY"]],
    "city": ["Austin"],
    "postal_code": ["787"],
    "carrier": ["USPS", ["USPS", "UPS"]],
    "tracking_number": ["1Z999"],
    "tracking_status": ["IN_TRANSIT"],
    "return_status": ["REQUESTED"],
    "delivery_issue": ["true"],
    "stalled_hours": ["48"],
    "risk": ["shared_address"],
    "is_cod": ["true"],
    "shipping_type": ["TIKTOK"],
    "fulfillment_type": ["FULFILLMENT_BY_SELLER"],
}

SORTS = [Sort(key, descending) for key in SortKey for descending in (True, False)]
# An equality on these narrows the walk to a shop's (or a status's) orders, which can be all of
# them: not a selective lookup that may then be sorted in memory.
UNSELECTIVE = frozenset({"shop_id", "status"})


@dataclass(frozen=True)
class Shape:
    name: str
    query: dict[str, Any]
    sort: Sort

    def __str__(self) -> str:
        return self.name


def shapes() -> Iterator[Shape]:
    """Every filter (alone, each sample value), each sort, without and with a cursor."""
    assert set(SAMPLES) == set(FILTER_PARAMS), "a filter parameter has no sample value"
    cases: list[tuple[str, dict[str, str | list[str]]]] = [("no filter", {})]
    for param, values in SAMPLES.items():
        for value in values:
            cases.append((f"{param}={value}", {param: value}))
    for label, params in cases:
        query = build_mongo_filter(parse_filters(params), SHOPS, now=NOW)
        for sort in SORTS:
            yield Shape(f"{label} sort={sort}", query, sort)
            value: datetime | int | None = 1000 if sort.key == SortKey.TOTAL else NOW
            paged = with_keyset(query, sort, CursorPosition(value, "577000000000000001"))
            yield Shape(f"{label} sort={sort} cursor", paged, sort)


def _is_equality(predicate: Any) -> bool:
    if not isinstance(predicate, Mapping):
        return True
    return set(predicate) == {"$in"}


def _conjuncts(query: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """The (field, predicate) pairs every matching document satisfies."""
    for field, predicate in query.items():
        if field == "$and":
            for part in predicate:
                yield from _conjuncts(part)
        elif not field.startswith("$"):
            yield field, predicate


def _or_branches(query: Mapping[str, Any]) -> Iterator[Sequence[Mapping[str, Any]]]:
    if "$or" in query:
        yield query["$or"]
    for part in query.get("$and", []):
        yield from _or_branches(part)


def _keys(index: IndexModel) -> list[tuple[str, int]]:
    return [(field, int(direction)) for field, direction in index.document["key"].items()]


def serving_index(query: Mapping[str, Any], sort: Sort, indexes: Sequence[IndexModel]) -> str:
    """The index that serves `query` sorted by `sort`, or "" when none does.

    Equality-sort-range: an index serves the shape when its leading fields all have an
    equality (or `$in`) in the query and the sort key and `_id` follow in the sort's direction
    (or all reversed): the server walks the index in sort order from the first match and stops at
    the page's limit; the other conditions filter what it reads. Failing that, a selective index
    serves it: an equality on the leading field of an index (or on `_id`), or an `$or` of which
    every branch has one; the few matches are then sorted in memory.
    """
    equal = {field for field, predicate in _conjuncts(query) if _is_equality(predicate)}
    wanted = [(sort.field, -1 if sort.descending else 1), ("_id", -1 if sort.descending else 1)]
    best, best_prefix = "", 0
    for index in indexes:
        keys = _keys(index)
        prefix = 0
        while prefix < len(keys) and keys[prefix][0] in equal:
            prefix += 1
        following = keys[prefix : prefix + 2]
        if prefix > best_prefix and [f for f, _ in following] == [f for f, _ in wanted]:
            signs = {d * w for (_, d), (_, w) in zip(following, wanted, strict=True)}
            if len(signs) == 1:
                best, best_prefix = str(index.document["name"]), prefix
    if best:
        return best  # the longest equality prefix: the fewest index entries walked
    leading = {
        _keys(index)[0][0]: str(index.document["name"])
        for index in indexes
        if _keys(index)[0][0] not in UNSELECTIVE
    }
    leading["_id"] = "_id_"
    for field in sorted(equal & set(leading)):
        return leading[field] + " (selective, sorted in memory)"
    for branches in _or_branches(query):
        names = []
        for branch in branches:
            hits = [
                leading[field]
                for field, predicate in _conjuncts(branch)
                if field in leading and _is_equality(predicate)
            ]
            if not hits:
                break
            names.append(hits[0])
        else:
            return " | ".join(names) + " (selective, sorted in memory)"
    return ""
