"""docs/contract.md §4 status rules, checked for every pair of statuses against a hand-written
table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from orderlens.domain.status import (
    OrderStatus,
    ReturnStatus,
    TrackingStatus,
    View,
    can_transition,
    has_delivery_issue,
    in_returns_view,
    later_than_estimated,
    order_status_from_packages,
    parse_order_status,
    statuses_of_view,
    transition_error,
    view_of,
)

S = OrderStatus
T = TrackingStatus

# Written out by hand from docs/contract.md §4.1, independently of the implementation: forward moves
# (skipping allowed, as snapshots can jump), CANCELLED up to AWAITING_COLLECTION, COMPLETED
# from DELIVERED or by a full refund from AWAITING_COLLECTION or IN_TRANSIT, nothing out of
# a final status.
ALLOWED: dict[OrderStatus, set[OrderStatus]] = {
    S.UNPAID: {
        S.ON_HOLD, S.AWAITING_SHIPMENT, S.PARTIALLY_SHIPPING, S.AWAITING_COLLECTION,
        S.IN_TRANSIT, S.DELIVERED, S.CANCELLED,
    },
    S.ON_HOLD: {
        S.AWAITING_SHIPMENT, S.PARTIALLY_SHIPPING, S.AWAITING_COLLECTION, S.IN_TRANSIT,
        S.DELIVERED, S.CANCELLED,
    },
    S.AWAITING_SHIPMENT: {
        S.PARTIALLY_SHIPPING, S.AWAITING_COLLECTION, S.IN_TRANSIT, S.DELIVERED, S.CANCELLED,
    },
    S.PARTIALLY_SHIPPING: {S.AWAITING_COLLECTION, S.IN_TRANSIT, S.DELIVERED, S.CANCELLED},
    S.AWAITING_COLLECTION: {S.IN_TRANSIT, S.DELIVERED, S.COMPLETED, S.CANCELLED},
    S.IN_TRANSIT: {S.DELIVERED, S.COMPLETED},
    S.DELIVERED: {S.COMPLETED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
}  # fmt: skip


@pytest.mark.parametrize(
    ("current", "new"), list(itertools.product(OrderStatus, OrderStatus)), ids=str
)
def test_every_pair_of_statuses(current: OrderStatus, new: OrderStatus) -> None:
    expected = new in ALLOWED[current]
    assert can_transition(current, new) is expected
    error = transition_error(current, new)
    assert (error is None) is expected
    if not expected:
        assert error  # a readable reason for the history entry and the 409


def test_reasons_read_well() -> None:
    assert transition_error(S.DELIVERED, S.IN_TRANSIT) == "IN_TRANSIT is behind DELIVERED"
    assert transition_error(S.COMPLETED, S.DELIVERED) == "COMPLETED is final"
    assert (
        transition_error(S.IN_TRANSIT, S.CANCELLED) == "cannot cancel an order that is IN_TRANSIT"
    )
    assert transition_error(S.IN_TRANSIT, S.IN_TRANSIT) == "already IN_TRANSIT"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("CANCEL", S.CANCELLED), ("cancelled", S.CANCELLED), (" in_transit ", S.IN_TRANSIT)],
)
def test_aliases_and_spelling(raw: str, expected: OrderStatus) -> None:
    assert parse_order_status(raw) == expected


@pytest.mark.parametrize("raw", ["SHIPPED", "", "$ne", "CANCELLING"])
def test_unknown_statuses_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        parse_order_status(raw)


VIEWS = {
    S.UNPAID: View.UNPAID,
    S.ON_HOLD: View.UNPAID,
    S.AWAITING_SHIPMENT: View.TO_SHIP,
    S.PARTIALLY_SHIPPING: View.TO_SHIP,
    S.AWAITING_COLLECTION: View.SHIPPED,
    S.IN_TRANSIT: View.SHIPPED,
    S.DELIVERED: View.DELIVERED,
    S.COMPLETED: View.COMPLETED,
    S.CANCELLED: View.CANCELLED,
}


@pytest.mark.parametrize("status", list(OrderStatus), ids=str)
def test_every_status_has_exactly_its_view(status: OrderStatus) -> None:
    assert view_of(status) == VIEWS[status]
    holders = [view for view in View if status in statuses_of_view(view)]
    assert holders == [VIEWS[status]]


@pytest.mark.parametrize("return_status", list(ReturnStatus), ids=str)
def test_returns_view_is_any_return_status_but_none(return_status: ReturnStatus) -> None:
    assert in_returns_view(return_status) is (return_status != ReturnStatus.NONE)


@pytest.mark.parametrize(
    ("current", "packages", "expected"),
    [
        (S.AWAITING_COLLECTION, [T.IN_TRANSIT], S.IN_TRANSIT),
        (S.AWAITING_COLLECTION, [T.IN_TRANSIT, T.INFO_RECEIVED], None),  # not all collected
        (S.AWAITING_COLLECTION, [T.IN_TRANSIT, T.OUT_FOR_DELIVERY], S.IN_TRANSIT),
        (S.IN_TRANSIT, [T.DELIVERED, T.IN_TRANSIT], None),  # not all delivered yet
        (S.IN_TRANSIT, [T.DELIVERED, T.DELIVERED], S.DELIVERED),
        (S.AWAITING_COLLECTION, [T.DELIVERED], S.DELIVERED),
        (S.COMPLETED, [T.DELIVERED], None),  # never backwards
        (S.IN_TRANSIT, [T.IN_TRANSIT], None),  # already there
        (S.AWAITING_SHIPMENT, [], None),
        (S.AWAITING_COLLECTION, [T.PENDING], None),
    ],
)
def test_order_status_follows_its_packages(
    current: OrderStatus, packages: list[TrackingStatus], expected: OrderStatus | None
) -> None:
    assert order_status_from_packages(current, packages) == expected


@pytest.mark.parametrize("tracking", list(TrackingStatus), ids=str)
def test_delivery_issue_flag(tracking: TrackingStatus) -> None:
    issues = {T.FAILED_ATTEMPT, T.EXCEPTION, T.RETURNED_TO_SENDER}
    assert has_delivery_issue([T.IN_TRANSIT, tracking]) is (tracking in issues)


@pytest.mark.parametrize("status", list(OrderStatus))
def test_an_estimate_is_late_only_while_the_order_is_on_its_way(status: OrderStatus) -> None:
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    passed, ahead = now - timedelta(minutes=1), now + timedelta(minutes=1)
    on_its_way = status not in {S.DELIVERED, S.COMPLETED, S.CANCELLED}
    assert later_than_estimated(passed, now, status=status) is on_its_way
    assert not later_than_estimated(ahead, now, status=status)
    assert not later_than_estimated(None, now, status=status)
    assert later_than_estimated(passed, now, status=status, tracking=T.IN_TRANSIT) is on_its_way
    for ended in (T.DELIVERED, T.RETURNED_TO_SENDER, T.EXPIRED):
        assert not later_than_estimated(passed, now, status=status, tracking=ended)
