"""The order read use cases: the filtered list, the counts, the detailed view."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderlens.domain.status import OrderStatus, ReturnStatus, View, statuses_of_view
from orderlens.filters import (
    ListOptions,
    OrderFilters,
    build_mongo_filter,
    decode_cursor,
    encode_cursor,
    with_keyset,
)
from orderlens.roles import sees_full_pii
from orderlens.tokens import Principal
from orderlens_query.adapters.order_reader import OrderReader
from orderlens_query.models.orders import OrderCounts, OrderDetail, OrderPage
from orderlens_query.presenters import detail, stored_order, summary


def scoped_query(filters: OrderFilters, principal: Principal, now: datetime) -> dict[str, Any]:
    return build_mongo_filter(filters, principal.shops, now=now, pii=sees_full_pii(principal.role))


async def list_orders(
    reader: OrderReader,
    principal: Principal,
    filters: OrderFilters,
    options: ListOptions,
    now: datetime,
    cursor_key: bytes | None = None,
) -> OrderPage:
    query = scoped_query(filters, principal, now)
    page_query = query
    if options.cursor is not None:
        page_query = with_keyset(
            query, options.sort, decode_cursor(options.sort, options.cursor, cursor_key)
        )
    # One extra row tells whether another page exists without a second query.
    docs = await reader.page(page_query, options.sort, options.limit + 1)
    has_more = len(docs) > options.limit
    docs = docs[: options.limit]
    next_cursor = encode_cursor(options.sort, docs[-1], cursor_key) if has_more and docs else None
    total = await reader.count(query) if options.include_total else None
    return OrderPage(
        items=[summary(doc, principal.role) for doc in docs],
        next_cursor=next_cursor,
        total=total,
    )


_NO_FILTER = OrderFilters().model_dump(exclude={"tz"})


async def count_orders(
    reader: OrderReader, principal: Principal, filters: OrderFilters, now: datetime
) -> OrderCounts:
    # The tab badges (no filter at all) come from order-ingest's counts read model
    # (docs/decisions/0082); any other filter counts the matching orders.
    if filters.model_dump(exclude={"tz"}) == _NO_FILTER:
        kept = await reader.tab_counts(principal.shops)
        if kept is not None:
            return _counts(
                {OrderStatus(s): n for s, n in kept["by_status"].items() if s in set(OrderStatus)},
                kept["returns"],
            )
    query = scoped_query(filters, principal, now)
    # One pass: per (status, return status), so the returns view needs no second count.
    raw = await reader.count_by(query, "status", "return_status")
    by_status = dict.fromkeys(OrderStatus, 0)
    returns = 0
    for (status, return_status), n in raw.items():
        if status in by_status:
            by_status[OrderStatus(status)] += int(n)
        if return_status not in (None, ReturnStatus.NONE.value):
            returns += int(n)
    return _counts(by_status, returns)


def _counts(counted: dict[OrderStatus, int], returns: int) -> OrderCounts:
    by_status = {**dict.fromkeys(OrderStatus, 0), **counted}
    by_view: dict[View, int] = {
        view: sum(by_status[s] for s in statuses_of_view(view))
        for view in View
        if view != View.RETURNS
    }
    by_view[View.RETURNS] = returns
    return OrderCounts(by_status=by_status, by_view=by_view, total=sum(by_status.values()))


async def order_detail(
    reader: OrderReader, principal: Principal, order_id: str
) -> OrderDetail | None:
    doc = await reader.get(order_id, principal.shops)
    if doc is None:
        return None
    return detail(stored_order(doc), principal.role)
