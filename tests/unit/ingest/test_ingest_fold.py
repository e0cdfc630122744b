"""The stored order as a function of the snapshot and the set of status events (no servers)."""

from __future__ import annotations

from datetime import UTC, timedelta

import bson
from bson.codec_options import CodecOptions
from hypothesis import given, settings
from hypothesis import strategies as st
from ing_unit_support import SYNCED, in_order, ingest, seed_orders, with_steps

from orderlens.domain.order import Order
from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus
from orderlens.events import CheckpointData, PackageUpdate, StatusChanged, StatusSource, make_event
from orderlens_devtools.seed import created_event, status_events
from orderlens_ingest.domain.fold import checkpoints_of, entry_of, fold
from orderlens_ingest.domain.orders import (
    StatusEvent,
    from_snapshot,
    same_content,
    snapshot_is_newer,
    with_status_events,
)
from orderlens_ingest.domain.risk import RiskRules


def _status(order: Order, at_hours: float, **data: object) -> StatusEvent:
    payload = StatusChanged.model_validate(
        {
            "order_id": order.id,
            "shop_id": order.shop_id,
            "occurred_at": order.created_at + timedelta(hours=at_hours),
            "source": "carrier",
            **data,
        }
    )
    event = make_event(payload, source="test", subject=order.id)
    return StatusEvent(event.id, event.data)


def test_in_order_delivery_reaches_the_seed_final_status() -> None:
    for seed_order in seed_orders(60):
        order = in_order(seed_order)
        assert order.status == seed_order.final["status"], seed_order.order_id
        assert len(order.history) == len(seed_order.steps)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_shuffled_and_duplicated_events_give_the_same_document(data: st.DataObject) -> None:
    seed_order = data.draw(st.sampled_from(seed_orders(30)))
    events = list(status_events(seed_order))
    delivered = data.draw(
        st.permutations(events + data.draw(st.lists(st.sampled_from(events))) if events else [])
    )
    shuffled = ingest(created_event(seed_order), delivered)
    assert same_content(shuffled, in_order(seed_order))


def test_a_stale_event_never_moves_the_order_backwards() -> None:
    seed_order = with_steps(5)
    order = in_order(seed_order)
    assert order.status in (OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
    stale = _status(order, 24 * 60, status="AWAITING_COLLECTION", source="seller")
    after = with_status_events(order, [stale])
    assert after.status == order.status
    entry = after.history[-1]
    assert entry.event_id == stale.event_id
    assert not entry.applied
    assert entry.reason
    assert "behind" in entry.reason or "final" in entry.reason
    assert after.updated_at == order.updated_at  # an ignored event changes nothing else


def test_an_event_that_happened_first_is_folded_first_whatever_its_arrival() -> None:
    order = in_order(with_steps(5))
    early = _status(order, 0.01, status="ON_HOLD", source="platform")
    after = with_status_events(order, [early])
    assert after.history[0].event_id == early.event_id
    assert after.status == order.status


def test_a_cancel_after_the_parcel_left_is_ignored_with_the_reason() -> None:
    order = in_order(with_steps(3))
    assert order.status in (OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED, OrderStatus.COMPLETED)
    cancel = _status(order, 24 * 40, status="CANCELLED", source="seller", reason="Out of stock")
    after = with_status_events(order, [cancel])
    assert after.status == order.status
    entry = after.history[-1]
    assert (entry.applied, entry.note) == (False, "Out of stock")
    assert entry.reason is not None
    assert entry.reason.startswith("cannot cancel")


def test_a_late_earlier_event_is_folded_in_time_order() -> None:
    """CANCELLED at t2 was applied; a late IN_TRANSIT at t1 arrives: in time order the parcel was
    already gone, so the cancellation no longer applies."""
    base = in_order(next(o for o in seed_orders(80) if not o.steps))
    base = from_snapshot(base.shop_id, _paid(base), None, RiskRules(), SYNCED)
    cancel = _status(base, 10, status="CANCELLED", source="seller")
    moved = _status(base, 5, status="IN_TRANSIT")
    one = with_status_events(with_status_events(base, [cancel]), [moved])
    other = with_status_events(with_status_events(base, [moved]), [cancel])
    assert one.status == other.status == OrderStatus.IN_TRANSIT
    assert same_content(one, other)
    assert [e.applied for e in one.history] == [True, False]


def _paid(order: Order):  # type: ignore[no-untyped-def]
    from orderlens.tiktok import TikTokOrder
    from orderlens_devtools.seed import SeedConfig, generate_order

    for index in range(500):
        candidate = generate_order(SeedConfig(orders=500, seed=11), index)
        if candidate.initial["status"] == "AWAITING_SHIPMENT":
            return TikTokOrder.model_validate(candidate.initial)
    raise AssertionError("no paid seed order")


def test_package_tracking_is_merged_without_duplicates() -> None:
    order = in_order(next(o for o in seed_orders(80) if not o.steps and o.initial.get("paid_time")))
    checkpoint = CheckpointData(
        at=order.created_at + timedelta(hours=30),
        status=TrackingStatus.IN_TRANSIT,
        message="Departed facility",
        location="Memphis, TN, US",
    )
    package = {
        "package_id": "PKG1",
        "carrier": "USPS",
        "tracking_number": "9400111",
        "tracking_status": "IN_TRANSIT",
        "checkpoints": [checkpoint.model_dump()],
        "estimated_delivery_at": order.created_at + timedelta(days=4),
    }
    first = _status(order, 30, package=package)
    again = _status(order, 31, package=package)  # same checkpoint, another event
    after = with_status_events(order, [first, again])
    (parcel,) = after.packages
    assert (parcel.carrier, parcel.tracking_number) == ("USPS", "9400111")
    assert len(parcel.checkpoints) == 1
    assert after.last_checkpoint_at == checkpoint.at
    assert after.estimated_delivery_at == order.created_at + timedelta(days=4)
    assert after.status == OrderStatus.IN_TRANSIT  # every package collected (docs/contract.md §4.4)
    assert after.collected_at == first.data.occurred_at
    assert after.tracking_numbers == ["9400111"]
    assert after.carriers == ["USPS"]


def test_a_failed_attempt_raises_the_delivery_issue_flag_and_delivery_clears_it() -> None:
    order = in_order(next(o for o in seed_orders(80) if not o.steps and o.initial.get("paid_time")))
    failed = _status(
        order, 30, package={"tracking_number": "T1", "tracking_status": "FAILED_ATTEMPT"}
    )
    assert with_status_events(order, [failed]).delivery_issue
    delivered = _status(
        order, 40, package={"tracking_number": "T1", "tracking_status": "DELIVERED"}
    )
    after = with_status_events(order, [failed, delivered])
    assert not after.delivery_issue
    assert after.status == OrderStatus.DELIVERED
    assert after.delivered_at == delivered.data.occurred_at


def test_return_statuses_only_move_forward() -> None:
    order = in_order(next(o for o in seed_orders(80) if not o.steps and o.initial.get("paid_time")))
    requested = _status(order, 1, return_status="REQUESTED", source="platform")
    refunded = _status(order, 2, return_status="REFUNDED", source="platform")
    stale = _status(order, 3, return_status="APPROVED", source="platform")
    after = with_status_events(order, [stale, refunded, requested])
    assert after.return_status == ReturnStatus.REFUNDED
    assert [e.applied for e in after.history] == [True, True, False]


def test_a_newer_snapshot_replaces_the_snapshot_but_keeps_the_history() -> None:
    seed_order = with_steps(4)
    order = in_order(seed_order)
    final = created_event(seed_order, final=True).data
    assert snapshot_is_newer(order, final.order)
    newer = from_snapshot(final.shop_id, final.order, order, RiskRules(), SYNCED)
    assert newer.source_update_time == final.order.update_time
    assert [e.event_id for e in newer.history] == [e.event_id for e in order.history]
    assert newer.status == seed_order.final["status"]
    assert newer.packages[0].checkpoints == order.packages[0].checkpoints
    initial = created_event(seed_order).data
    assert not snapshot_is_newer(newer, initial.order)
    assert not snapshot_is_newer(newer, final.order)  # equal update_time changes nothing


def test_status_events_stamp_the_missing_timestamps() -> None:
    seed_order = with_steps(3)
    order = in_order(seed_order)
    steps = {e.status: e for e in order.history if e.status and e.applied}
    assert order.shipped_at == steps[OrderStatus.AWAITING_COLLECTION].at
    assert order.collected_at is not None
    assert order.paid_at is not None
    assert order.paid_bucket is not None


def test_a_carrier_event_for_a_cancelled_order_is_kept_but_does_not_revive_it() -> None:
    order = in_order(next(o for o in seed_orders(80) if not o.steps and o.initial.get("paid_time")))
    cancel = _status(order, 1, status="CANCELLED", source=StatusSource.SELLER.value)
    parcel = PackageUpdate(tracking_number="T9", tracking_status=TrackingStatus.DELIVERED)
    late = _status(order, 5, package=parcel.model_dump())
    after = with_status_events(order, [cancel, late])
    assert after.status == OrderStatus.CANCELLED
    assert after.packages[-1].tracking_status == TrackingStatus.DELIVERED


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_folding_more_events_onto_a_stored_order_equals_folding_them_all_again(
    data: st.DataObject,
) -> None:
    """Events in time order continue from the stored order instead of replaying its history
    (docs/decisions/0195); whatever the batches, the document is the full fold's."""
    seed_order = data.draw(st.sampled_from([o for o in seed_orders(30) if o.steps]))
    created = created_event(seed_order).data
    order = from_snapshot(created.shop_id, created.order, None, RiskRules(), SYNCED)
    events = [StatusEvent(e.id, e.data) for e in status_events(seed_order)]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=4)))
    received: list[StatusEvent] = []
    for start, end in zip([0, *cuts], [*cuts, len(events)], strict=True):
        again_sent = data.draw(st.lists(st.sampled_from(received))) if received else []
        batch = events[start:end] + again_sent
        order = with_status_events(order, batch)
        received += batch
        every = [entry_of(e.event_id, e.data) for e in received]
        points = [c for e in received for c in checkpoints_of(e.data)]
        assert order.base is not None
        again = fold(order, order.base, every, points)
        assert order == again


def test_written_orders_read_back_equal() -> None:
    """order-ingest keeps the documents it wrote instead of reading them again (decision 0196):
    that holds only if a read returns what was written, i.e. every datetime it sets is UTC to
    the millisecond, which BSON keeps. A clock with microseconds must not break it."""
    clock = SYNCED + timedelta(microseconds=123_456)
    as_read = CodecOptions(tz_aware=True, tzinfo=UTC)
    for seed_order in seed_orders(120):
        created = created_event(seed_order).data
        order = from_snapshot(created.shop_id, created.order, None, RiskRules(), clock)
        events = [StatusEvent(e.id, e.data) for e in status_events(seed_order)]
        order = with_status_events(order, events)
        read = Order.from_document(bson.decode(bson.encode(order.to_document()), as_read))
        assert read == order, seed_order.order_id
