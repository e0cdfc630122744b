"""The buyer's reads (docs/contract.md §5.1): every query is limited to the token's shops AND
its buyer user id, so another buyer's order is simply not found (404, like another shop's)."""

from __future__ import annotations

from typing import Any

from orderlens.domain.buyer import BUYER_TAB_LABELS, TAB_STATUSES, BuyerTab
from orderlens.domain.status import ReturnStatus
from orderlens.filters import ListOptions, Sort, decode_cursor, encode_cursor, with_keyset
from orderlens.mongo import Document
from orderlens.tokens import Principal
from orderlens_query.adapters.order_reader import OrderReader
from orderlens_query.models.buyer import (
    BuyerOrderDetail,
    BuyerOrderPage,
    BuyerOrderSummary,
    BuyerTabCount,
    buyer_view,
)
from orderlens_query.models.common import ApiModel
from orderlens_query.presenters import detail, stored_order, summary

NOT_RETURNED = [None, ReturnStatus.NONE.value]
# The orders a buyer's list stream follows (decision 0216): far more than a buyer has; a buyer
# beyond it follows their newest orders, the ones the order center shows first.
MAX_FOLLOWED_ORDERS = 1_000


def buyer_scope(principal: Principal) -> dict[str, Any]:
    if principal.buyer_user_id is None:  # the role check comes first; this guards a wiring slip
        raise PermissionError("not a buyer token")
    return {"shop_id": {"$in": list(principal.shops)}, "buyer.user_id": principal.buyer_user_id}


def tab_query(tab: BuyerTab) -> dict[str, Any]:
    if tab == BuyerTab.RETURNS:
        return {"return_status": {"$nin": NOT_RETURNED}}
    return {"status": {"$in": sorted(s.value for s in TAB_STATUSES[tab])}}


async def tab_counts(reader: OrderReader, scope: dict[str, Any]) -> list[BuyerTabCount]:
    raw = await reader.count_by(scope, "status", "return_status")
    counts = dict.fromkeys(BuyerTab, 0)
    for (status, return_status), n in raw.items():
        for tab in BuyerTab:
            if tab != BuyerTab.RETURNS and status in TAB_STATUSES[tab]:
                counts[tab] += int(n)
        if return_status not in NOT_RETURNED:
            counts[BuyerTab.RETURNS] += int(n)
    return [BuyerTabCount(tab=t, label=BUYER_TAB_LABELS[t], count=counts[t]) for t in BuyerTab]


async def list_my_orders(
    reader: OrderReader, principal: Principal, tab: BuyerTab | None, options: ListOptions
) -> BuyerOrderPage:
    scope = buyer_scope(principal)
    query = {**scope, **tab_query(tab)} if tab is not None else scope
    page_query = query
    if options.cursor is not None:
        page_query = with_keyset(query, options.sort, decode_cursor(options.sort, options.cursor))
    docs = await reader.page(page_query, options.sort, options.limit + 1)
    has_more = len(docs) > options.limit
    docs = docs[: options.limit]
    return BuyerOrderPage(
        tabs=await tab_counts(reader, scope),
        items=[buyer_view(BuyerOrderSummary, summary(doc, principal.role)) for doc in docs],
        next_cursor=encode_cursor(options.sort, docs[-1]) if has_more and docs else None,
    )


async def _my_doc(reader: OrderReader, principal: Principal, order_id: str) -> Document | None:
    scope = buyer_scope(principal)
    doc = await reader.get(order_id, principal.shops)
    if doc is None or (doc.get("buyer") or {}).get("user_id") != scope["buyer.user_id"]:
        return None
    return doc


async def my_order(reader: OrderReader, principal: Principal, order_id: str) -> ApiModel | None:
    doc = await _my_doc(reader, principal, order_id)
    if doc is None:
        return None
    return buyer_view(BuyerOrderDetail, detail(stored_order(doc), principal.role))


async def owns_order(reader: OrderReader, principal: Principal, order_id: str) -> bool:
    """Whether the order is the buyer's: its stream is theirs to follow (else 404)."""
    return await _my_doc(reader, principal, order_id) is not None


async def my_order_ids(reader: OrderReader, principal: Principal) -> frozenset[str]:
    """The ids of the buyer's orders, newest first up to MAX_FOLLOWED_ORDERS: what the buyer's
    list stream narrows the shops' events to."""
    docs = await reader.page(
        buyer_scope(principal), Sort(), MAX_FOLLOWED_ORDERS, projection={"_id": 1}
    )
    return frozenset(str(doc["_id"]) for doc in docs)
