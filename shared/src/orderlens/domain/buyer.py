"""The buyer's side of an order (docs/contract.md §4.2 buyer wording, §5.1 buyer row).

API:
- `BuyerTab` and `BUYER_TAB_LABELS`: the order center's groups (Unpaid, Waiting for delivery,
  In transit, Received, Cancelled, Returns/Refund); `TAB_STATUSES[tab]` the statuses of a tab
  (`returns` is defined by the return status instead and overlaps the others, like the seller's
  `returns` view); `tab_of(status)` the status tab of an order. The labels are `BUYER_LABELS`.
- `SELLER_ONLY_FIELDS`: the stored `Order` fields a buyer never sees (seller notes, risk flags,
  the internal history and bookkeeping). Buyer views are the stored model minus these.
"""

from __future__ import annotations

from enum import StrEnum

from orderlens.domain.order import Order
from orderlens.domain.status import BUYER_LABELS, OrderStatus


class BuyerTab(StrEnum):
    UNPAID = "unpaid"
    WAITING_FOR_DELIVERY = "waiting_for_delivery"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    CANCELLED = "cancelled"
    RETURNS = "returns"


BUYER_TAB_LABELS: dict[BuyerTab, str] = {
    BuyerTab.UNPAID: "Unpaid",
    BuyerTab.WAITING_FOR_DELIVERY: "Waiting for delivery",
    BuyerTab.IN_TRANSIT: "In transit",
    BuyerTab.RECEIVED: "Received",
    BuyerTab.CANCELLED: "Cancelled",
    BuyerTab.RETURNS: "Returns/Refund",
}
# The status tabs are BUYER_LABELS read backwards, so the wording has one definition.
TAB_STATUSES: dict[BuyerTab, frozenset[OrderStatus]] = {
    tab: frozenset(s for s, label in BUYER_LABELS.items() if label == BUYER_TAB_LABELS[tab])
    for tab in BuyerTab
}


def tab_of(status: OrderStatus) -> BuyerTab:
    for tab, statuses in TAB_STATUSES.items():
        if status in statuses:
            return tab
    raise ValueError(f"no buyer tab for {status}")  # pragma: no cover - every status has one


SELLER_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "seller_note",
        "risk_flags",
        "risk",
        "history",  # internal sources (platform, seller, carrier, system) and ignored events
        "base",
        "version",
        "address_key",
        "paid_bucket",
        "source_update_time",
        "last_synced_at",
    }
)
# A renamed stored field must not silently leak: every name above is a field of the stored model.
assert set(Order.model_fields) >= SELLER_ONLY_FIELDS, SELLER_ONLY_FIELDS - set(Order.model_fields)
