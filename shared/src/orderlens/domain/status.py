"""Status vocabularies and the rules of docs/contract.md §4, as plain functions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class OrderStatus(StrEnum):
    UNPAID = "UNPAID"
    ON_HOLD = "ON_HOLD"
    AWAITING_SHIPMENT = "AWAITING_SHIPMENT"
    PARTIALLY_SHIPPING = "PARTIALLY_SHIPPING"
    AWAITING_COLLECTION = "AWAITING_COLLECTION"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class ReturnStatus(StrEnum):
    NONE = "NONE"
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    BUYER_SHIPPED = "BUYER_SHIPPED"
    RECEIVED = "RECEIVED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


class TrackingStatus(StrEnum):
    PENDING = "PENDING"
    INFO_RECEIVED = "INFO_RECEIVED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    AVAILABLE_FOR_PICKUP = "AVAILABLE_FOR_PICKUP"
    FAILED_ATTEMPT = "FAILED_ATTEMPT"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    RETURNED_TO_SENDER = "RETURNED_TO_SENDER"
    EXPIRED = "EXPIRED"


class View(StrEnum):
    UNPAID = "unpaid"
    TO_SHIP = "to_ship"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURNS = "returns"


# The forward path; CANCELLED stands outside it.
FORWARD_PATH: tuple[OrderStatus, ...] = (
    OrderStatus.UNPAID,
    OrderStatus.ON_HOLD,
    OrderStatus.AWAITING_SHIPMENT,
    OrderStatus.PARTIALLY_SHIPPING,
    OrderStatus.AWAITING_COLLECTION,
    OrderStatus.IN_TRANSIT,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
)
_RANK = {status: rank for rank, status in enumerate(FORWARD_PATH)}

FINAL_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED})
# A full refund may complete an order that has not been delivered yet.
_COMPLETABLE_FROM = frozenset(
    {OrderStatus.AWAITING_COLLECTION, OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED}
)
_LAST_CANCELLABLE_RANK = _RANK[OrderStatus.AWAITING_COLLECTION]

_ALIASES = {"CANCEL": OrderStatus.CANCELLED}

VIEW_STATUSES: dict[View, frozenset[OrderStatus]] = {
    View.UNPAID: frozenset({OrderStatus.UNPAID, OrderStatus.ON_HOLD}),
    View.TO_SHIP: frozenset({OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_SHIPPING}),
    View.SHIPPED: frozenset({OrderStatus.AWAITING_COLLECTION, OrderStatus.IN_TRANSIT}),
    View.DELIVERED: frozenset({OrderStatus.DELIVERED}),
    View.COMPLETED: frozenset({OrderStatus.COMPLETED}),
    View.CANCELLED: frozenset({OrderStatus.CANCELLED}),
    View.RETURNS: frozenset(),  # defined by return_status, not by status
}

BUYER_LABELS: dict[OrderStatus, str] = {
    OrderStatus.UNPAID: "Unpaid",
    OrderStatus.ON_HOLD: "Waiting for delivery",
    OrderStatus.AWAITING_SHIPMENT: "Waiting for delivery",
    OrderStatus.PARTIALLY_SHIPPING: "Waiting for delivery",
    OrderStatus.AWAITING_COLLECTION: "Waiting for delivery",
    OrderStatus.IN_TRANSIT: "In transit",
    OrderStatus.DELIVERED: "Received",
    OrderStatus.COMPLETED: "Received",
    OrderStatus.CANCELLED: "Cancelled",
}

# The seller's wording (docs/contract.md §4.2): the console's tabs, and each status as the
# seller's order page names it. The buyer's groups above are for buyers only.
SELLER_VIEW_LABELS: dict[View, str] = {
    View.UNPAID: "Unpaid",
    View.TO_SHIP: "To ship",
    View.SHIPPED: "Shipped",
    View.DELIVERED: "Delivered",
    View.COMPLETED: "Completed",
    View.CANCELLED: "Cancelled",
    View.RETURNS: "Returns",
}
SELLER_STATUS_LABELS: dict[OrderStatus, str] = {
    OrderStatus.UNPAID: "Unpaid",
    OrderStatus.ON_HOLD: "On hold",
    OrderStatus.AWAITING_SHIPMENT: "Awaiting shipment",
    OrderStatus.PARTIALLY_SHIPPING: "Partially shipped",
    OrderStatus.AWAITING_COLLECTION: "Awaiting collection",
    OrderStatus.IN_TRANSIT: "In transit",
    OrderStatus.DELIVERED: "Delivered",
    OrderStatus.COMPLETED: "Completed",
    OrderStatus.CANCELLED: "Cancelled",
}


def status_label(status: OrderStatus, *, for_buyer: bool) -> str:
    """The status in its reader's words: the buyer's group for a buyer, else the seller's."""
    return (BUYER_LABELS if for_buyer else SELLER_STATUS_LABELS)[status]


TERMINAL_TRACKING = frozenset(
    {TrackingStatus.DELIVERED, TrackingStatus.RETURNED_TO_SENDER, TrackingStatus.EXPIRED}
)
ISSUE_TRACKING = frozenset(
    {TrackingStatus.FAILED_ATTEMPT, TrackingStatus.EXCEPTION, TrackingStatus.RETURNED_TO_SENDER}
)
# Tracking states meaning the carrier physically holds the parcel.
COLLECTED_TRACKING = frozenset(TrackingStatus) - {
    TrackingStatus.PENDING,
    TrackingStatus.INFO_RECEIVED,
    TrackingStatus.EXPIRED,
}


# The parcels of these orders have arrived or will not come: their estimate is history.
DELIVERY_ENDED = frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CANCELLED})


def later_than_estimated(
    estimated_at: datetime | None,
    now: datetime,
    *,
    status: OrderStatus,
    tracking: TrackingStatus | None = None,
) -> bool:
    """An estimated delivery that has passed while the order (or its parcel, `tracking`) is still
    on its way: the pages say "Later than estimated" (docs/decisions/0207)."""
    if estimated_at is None or status in DELIVERY_ENDED or tracking in TERMINAL_TRACKING:
        return False
    return estimated_at < now


def parse_order_status(value: str) -> OrderStatus:
    """Read a status in TikTok's vocabulary, accepting its aliases; ValueError if unknown."""
    key = value.strip().upper()
    if key in _ALIASES:
        return _ALIASES[key]
    return OrderStatus(key)


def rank(status: OrderStatus) -> int | None:
    """Position on the forward path; None for CANCELLED."""
    return _RANK.get(status)


def transition_error(current: OrderStatus, new: OrderStatus) -> str | None:
    """Why `current -> new` is not allowed, or None when it is.

    Moving to the same status is not a transition and is reported as such.
    """
    if new == current:
        return f"already {current.value}"
    if current in FINAL_STATUSES:
        return f"{current.value} is final"
    current_rank = _RANK[current]
    if new == OrderStatus.CANCELLED:
        if current_rank > _LAST_CANCELLABLE_RANK:
            return f"cannot cancel an order that is {current.value}"
        return None
    if new == OrderStatus.COMPLETED:
        if current not in _COMPLETABLE_FROM:
            return f"cannot complete an order that is {current.value}"
        return None
    if _RANK[new] < current_rank:
        return f"{new.value} is behind {current.value}"
    return None


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return transition_error(current, new) is None


def view_of(status: OrderStatus) -> View:
    """The status tab an order appears under (returns are a separate, overlapping tab)."""
    for view, statuses in VIEW_STATUSES.items():
        if status in statuses:
            return view
    raise AssertionError(f"status {status} has no view")  # pragma: no cover


def statuses_of_view(view: View) -> frozenset[OrderStatus]:
    return VIEW_STATUSES[view]


def in_returns_view(return_status: ReturnStatus) -> bool:
    return return_status != ReturnStatus.NONE


def order_status_from_packages(
    current: OrderStatus, package_statuses: list[TrackingStatus]
) -> OrderStatus | None:
    """The status the packages imply (docs/contract.md §4.4), or None when they imply no move.

    IN_TRANSIT once every package has been collected, DELIVERED once every package is delivered.
    """
    if not package_statuses:
        return None
    if all(s == TrackingStatus.DELIVERED for s in package_statuses):
        target = OrderStatus.DELIVERED
    elif all(s in COLLECTED_TRACKING for s in package_statuses):
        target = OrderStatus.IN_TRANSIT
    else:
        return None
    return target if can_transition(current, target) else None


def has_delivery_issue(package_statuses: list[TrackingStatus]) -> bool:
    return any(s in ISSUE_TRACKING for s in package_statuses)
