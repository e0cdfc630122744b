"""The stored order as a pure function of the newest snapshot and the SET of status events seen.

`fold` sorts the history by (occurred_at, event id), replays the docs/contract.md §4 rules from the
snapshot's own values, marks each entry applied or ignored with the reason, and merges package
tracking data (checkpoints as a set). Whatever the arrival order and however often an event
arrives, the same set gives the same document: this is what makes redelivery harmless.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from orderlens.domain.order import (
    Checkpoint,
    HistoryEntry,
    Order,
    PackageDoc,
    SnapshotBase,
)
from orderlens.domain.sales import bucket_start
from orderlens.domain.status import (
    OrderStatus,
    ReturnStatus,
    TrackingStatus,
    has_delivery_issue,
    order_status_from_packages,
    rank,
    transition_error,
)
from orderlens.events import StatusChanged
from orderlens_ingest.domain.returns import return_transition_error

# The timestamp an applied status sets when the snapshot did not have it.
_STAMPS: dict[OrderStatus, str] = {
    OrderStatus.AWAITING_COLLECTION: "shipped_at",
    OrderStatus.IN_TRANSIT: "collected_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
}
_PAID_RANK = rank(OrderStatus.ON_HOLD)
_STAMP_FIELDS = ("paid_at", "shipped_at", "collected_at", "delivered_at", "cancelled_at")


def to_ms(moment: datetime) -> datetime:
    """UTC, truncated to the millisecond: what a MongoDB date keeps, so documents compare equal."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


@dataclass(frozen=True)
class TrackedCheckpoint:
    """A checkpoint and the package it belongs to."""

    package_id: str | None
    tracking_number: str | None
    checkpoint: Checkpoint


def entry_of(event_id: str, data: StatusChanged) -> HistoryEntry:
    """The history entry of a status-changed event (its verdict is set by `fold`)."""
    package = data.package
    return HistoryEntry(
        event_id=event_id,
        at=to_ms(data.occurred_at),
        source=data.source.value,
        status=data.status,
        return_status=data.return_status,
        tracking_status=package.tracking_status if package else None,
        applied=False,
        note=data.reason,
        package_id=package.package_id if package else None,
        carrier=package.carrier if package else None,
        tracking_number=package.tracking_number if package else None,
        estimated_delivery_at=to_ms(package.estimated_delivery_at)
        if package and package.estimated_delivery_at
        else None,
    )


CheckpointKey = tuple[datetime, TrackingStatus, str | None, str | None]


def checkpoint_key(c: Checkpoint) -> CheckpointKey:
    """What makes two checkpoints one (a carrier repeats every checkpoint in each update)."""
    return (c.at, c.status, c.location, c.message)


def checkpoints_of(
    data: StatusChanged, known: Collection[CheckpointKey] = ()
) -> list[TrackedCheckpoint]:
    """The event's checkpoints, but those `known` already (building each again, to be merged
    away, was most of the cost of a carrier update)."""
    package = data.package
    if package is None:
        return []
    found = []
    for c in package.checkpoints:
        # Aware datetimes compare and hash by instant, so a time already whole in milliseconds
        # is looked up as it is; only a new checkpoint is converted and built.
        at = c.at if c.at.microsecond % 1000 == 0 else to_ms(c.at)
        if (at, c.status, c.location, c.message) in known:
            continue
        point = Checkpoint(at=to_ms(at), status=c.status, message=c.message, location=c.location)
        found.append(TrackedCheckpoint(package.package_id, package.tracking_number, point))
    return found


def known_checkpoints(order: Order) -> set[CheckpointKey]:
    return {checkpoint_key(c) for p in order.packages for c in p.checkpoints}


def stored_checkpoints(order: Order) -> list[TrackedCheckpoint]:
    return [
        TrackedCheckpoint(p.package_id, p.tracking_number, c)
        for p in order.packages
        for c in p.checkpoints
    ]


def base_of(snapshot: Order) -> SnapshotBase:
    """The snapshot's own values of what status events change (from a freshly normalised order)."""
    return SnapshotBase(
        status=snapshot.status,
        return_status=snapshot.return_status,
        updated_at=snapshot.updated_at,
        paid_at=snapshot.paid_at,
        shipped_at=snapshot.shipped_at,
        collected_at=snapshot.collected_at,
        delivered_at=snapshot.delivered_at,
        cancelled_at=snapshot.cancelled_at,
        cancel_reason=snapshot.cancel_reason,
        cancellation_initiator=snapshot.cancellation_initiator,
        packages=[p.model_copy(update={"checkpoints": []}) for p in snapshot.packages],
    )


def _find(packages: list[PackageDoc], package_id: str | None, tracking: str | None) -> int | None:
    if package_id:
        for index, package in enumerate(packages):
            if package.package_id == package_id:
                return index
    if tracking:
        for index, package in enumerate(packages):
            if package.tracking_number == tracking:
                return index
    return None


def _merge_package(packages: list[PackageDoc], entry: HistoryEntry) -> None:
    """Merge what `entry` says about its package into `packages`, in place: the fold's own
    copies (`_State`), never a stored order's."""
    index = _find(packages, entry.package_id, entry.tracking_number)
    if index is None:
        packages.append(PackageDoc())
        index = len(packages) - 1
    current = packages[index]
    # Set only what differs: a carrier repeats most of it in every update.
    if entry.package_id and not current.package_id:
        current.package_id = entry.package_id
    if entry.tracking_number and entry.tracking_number != current.tracking_number:
        current.tracking_number = entry.tracking_number
    if entry.carrier and entry.carrier != current.carrier:
        current.carrier = entry.carrier
    if entry.tracking_status is not None and entry.tracking_status != current.tracking_status:
        current.tracking_status = entry.tracking_status
    estimated = entry.estimated_delivery_at
    if estimated is not None and estimated != current.estimated_delivery_at:
        current.estimated_delivery_at = estimated


def _has_package(entry: HistoryEntry) -> bool:
    return bool(entry.package_id or entry.tracking_number)


def _sorted_unique(entries: Iterable[HistoryEntry]) -> list[HistoryEntry]:
    ordered = sorted(entries, key=lambda e: (e.at, e.event_id))
    seen: set[str] = set()
    unique = []
    for entry in ordered:
        if entry.event_id not in seen:
            seen.add(entry.event_id)
            unique.append(entry)
    return unique


def _attach_checkpoints(
    packages: list[PackageDoc], checkpoints: Iterable[TrackedCheckpoint]
) -> list[PackageDoc]:
    found: dict[int, dict[tuple[object, ...], Checkpoint]] = {}
    for tracked in checkpoints:
        index = _find(packages, tracked.package_id, tracked.tracking_number)
        if index is None:
            packages.append(
                PackageDoc(package_id=tracked.package_id, tracking_number=tracked.tracking_number)
            )
            index = len(packages) - 1
        c = tracked.checkpoint
        found.setdefault(index, {})[checkpoint_key(c)] = c
    for index, package in enumerate(packages):  # the fold's own copies: set in place
        points = sorted(
            found.get(index, {}).values(),
            key=lambda c: (c.at, c.status.value, c.message or "", c.location or ""),
        )
        package.checkpoints = points
        package.last_checkpoint_at = points[-1].at if points else None
    return packages


@dataclass
class _State:
    """What replaying the history carries from one entry to the next."""

    status: OrderStatus
    return_status: ReturnStatus
    stamps: dict[str, datetime | None]
    cancel_reason: str | None
    initiator: str | None
    updated_at: datetime
    packages: list[PackageDoc]
    history: list[HistoryEntry]

    @classmethod
    def of_base(cls, base: SnapshotBase) -> _State:
        """Before the first entry: the snapshot's own values."""
        return cls(
            status=base.status,
            return_status=base.return_status,
            stamps={field: getattr(base, field) for field in _STAMP_FIELDS},
            cancel_reason=base.cancel_reason,
            initiator=base.cancellation_initiator,
            updated_at=base.updated_at,
            packages=[p.model_copy(update={"checkpoints": []}) for p in base.packages],
            history=[],
        )

    @classmethod
    def of_order(cls, order: Order) -> _State:
        """After the last entry of a folded order: its stored values, which are the fold's
        state at that point (each entry's verdict depends only on the entries before it)."""
        return cls(
            status=order.status,
            return_status=order.return_status,
            stamps={field: getattr(order, field) for field in _STAMP_FIELDS},
            cancel_reason=order.cancel_reason,
            initiator=order.cancellation_initiator,
            updated_at=order.updated_at,
            packages=[p.model_copy(update={"checkpoints": []}) for p in order.packages],
            history=list(order.history),
        )

    def move(self, to: OrderStatus, entry: HistoryEntry) -> None:
        self.status = to
        field = _STAMPS.get(to)
        if field and self.stamps[field] is None:
            self.stamps[field] = entry.at
        to_rank = rank(to)
        if self.stamps["paid_at"] is None and to_rank is not None and to_rank >= (_PAID_RANK or 0):
            self.stamps["paid_at"] = entry.at
        if to == OrderStatus.CANCELLED:
            self.cancel_reason = self.cancel_reason or entry.note
            self.initiator = self.initiator or entry.source.upper()

    def replay(self, entry: HistoryEntry, *, owned: bool = False) -> None:
        """Apply one entry (the next in time order) and record its verdict: on the entry
        itself when it is `owned` (made for this fold), else on a copy if it differs."""
        ignored: list[str] = []
        changed = False
        if entry.status is not None:
            error = transition_error(self.status, entry.status)
            if error is None:
                self.move(entry.status, entry)
                changed = True
            else:
                ignored.append(error)
        if entry.return_status is not None:
            error = return_transition_error(self.return_status, entry.return_status)
            if error is None:
                self.return_status = entry.return_status
                changed = True
            else:
                ignored.append(error)
        if _has_package(entry):
            _merge_package(self.packages, entry)
            changed = True  # tracking data is always merged, even on a final order
            statuses = [p.tracking_status for p in self.packages]
            implied = order_status_from_packages(self.status, statuses)
            if implied is not None:
                self.move(implied, entry)
        if changed:
            self.updated_at = max(self.updated_at, entry.at)
        reason = "; ".join(ignored) or None
        if entry.applied != changed or entry.reason != reason:
            if owned:
                entry.applied, entry.reason = changed, reason
            else:
                entry = entry.model_copy(update={"applied": changed, "reason": reason})
        self.history.append(entry)

    def finish(
        self, order: Order, base: SnapshotBase, checkpoints: Iterable[TrackedCheckpoint]
    ) -> Order:
        packages = _attach_checkpoints(self.packages, checkpoints)
        checkpoint_times = [p.last_checkpoint_at for p in packages if p.last_checkpoint_at]
        estimates = [p.estimated_delivery_at for p in packages if p.estimated_delivery_at]
        statuses = [p.tracking_status for p in packages]
        paid_at = self.stamps["paid_at"]
        return order.model_copy(
            update={
                "status": self.status,
                "return_status": self.return_status,
                "updated_at": self.updated_at,
                **self.stamps,
                "cancel_reason": self.cancel_reason,
                "cancellation_initiator": self.initiator,
                "packages": packages,
                "history": self.history,
                "delivery_issue": has_delivery_issue(statuses),
                "last_checkpoint_at": max(checkpoint_times) if checkpoint_times else None,
                "estimated_delivery_at": max(estimates) if estimates else None,
                "carriers": sorted({p.carrier for p in packages if p.carrier}),
                "tracking_numbers": sorted(
                    {p.tracking_number for p in packages if p.tracking_number}
                ),
                "tracking_statuses": sorted(set(statuses)),
                "paid_bucket": bucket_start(paid_at) if paid_at else None,
                "base": base,
            }
        )


def fold(
    order: Order,
    base: SnapshotBase,
    entries: Iterable[HistoryEntry],
    checkpoints: Iterable[TrackedCheckpoint],
) -> Order:
    """`order` with its status, return status, timestamps, packages and history recomputed from
    the snapshot's own values (`base`) and every status event seen (`entries`, any order, any
    duplicates). Fields no status event touches are taken from `order` unchanged."""
    state = _State.of_base(base)
    for entry in _sorted_unique(entries):
        state.replay(entry)
    return state.finish(order, base, checkpoints)


def _key(entry: HistoryEntry) -> tuple[datetime, str]:
    return (entry.at, entry.event_id)


def fold_more(
    order: Order,
    entries: Iterable[HistoryEntry],
    checkpoints: Iterable[TrackedCheckpoint],
) -> Order:
    """`fold` of the order's history and these entries, without replaying the history when it
    can continue from the stored order: when every new entry happened after the last one kept
    (the usual case, events arriving in time order). The result is the same either way
    (docs/decisions/0195); a late entry replays the whole history.

    `entries` are made for this call (their verdicts are set on them); `checkpoints` are the
    new entries' checkpoints (`checkpoints_of`), the stored ones are kept."""
    known = {entry.event_id for entry in order.history}
    new = _sorted_unique(e for e in entries if e.event_id not in known)
    if not new:
        return order
    base = order.base or base_of(order)
    every_checkpoint = [*stored_checkpoints(order), *checkpoints]
    if order.base is None or (order.history and _key(new[0]) <= _key(order.history[-1])):
        return fold(order, base, [*order.history, *new], every_checkpoint)
    state = _State.of_order(order)
    for entry in new:
        state.replay(entry, owned=True)
    return state.finish(order, base, every_checkpoint)
