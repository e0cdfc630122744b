"""Tracking snapshots, what changed between two of them, and when to look again.

Plain functions over plain values: no I/O here.
"""

from __future__ import annotations

import hashlib
import json
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from orderlens.domain.status import TERMINAL_TRACKING, TrackingStatus
from orderlens.events import (
    CheckpointData,
    CloudEvent,
    PackageUpdate,
    StatusChanged,
    StatusSource,
    make_event,
)

EVENT_SOURCE = "orderlens/status-tracker"


@dataclass(frozen=True)
class TrackingSnapshot:
    """What a carrier says about one tracking number at one moment."""

    tracking_number: str
    status: TrackingStatus
    checkpoints: tuple[CheckpointData, ...] = ()
    estimated_delivery_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.status in TERMINAL_TRACKING


@dataclass(frozen=True)
class Package:
    """The package a tracking job follows, and the order it belongs to."""

    tracking_number: str
    order_id: str
    shop_id: str
    package_id: str | None = None
    carrier: str | None = None


@dataclass(frozen=True)
class Change:
    snapshot: TrackingSnapshot
    reasons: tuple[str, ...] = ()


def _key(checkpoint: CheckpointData) -> tuple[datetime, str, str, str]:
    return (
        checkpoint.at,
        checkpoint.status.value,
        checkpoint.message or "",
        checkpoint.location or "",
    )


def merge_checkpoints(*lists: Iterable[CheckpointData]) -> tuple[CheckpointData, ...]:
    """Every distinct checkpoint, oldest first."""
    seen: dict[tuple[datetime, str, str, str], CheckpointData] = {}
    for checkpoints in lists:
        for checkpoint in checkpoints:
            seen.setdefault(_key(checkpoint), checkpoint)
    return tuple(seen[k] for k in sorted(seen))


def _millis(value: datetime) -> datetime:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def normalized(snapshot: TrackingSnapshot) -> TrackingSnapshot:
    """Times to whole milliseconds, as MongoDB stores them, so that a snapshot read back from
    the database equals the one the carrier sent."""
    return TrackingSnapshot(
        tracking_number=snapshot.tracking_number,
        status=snapshot.status,
        checkpoints=tuple(c.model_copy(update={"at": _millis(c.at)}) for c in snapshot.checkpoints),
        estimated_delivery_at=None
        if snapshot.estimated_delivery_at is None
        else _millis(snapshot.estimated_delivery_at),
    )


def diff(previous: TrackingSnapshot | None, current: TrackingSnapshot) -> Change | None:
    """The change to publish, or None when the carrier says nothing new.

    Checkpoints accumulate: a carrier answer that drops one (an API hiccup) does not unsay it.
    An answer with no information at all (PENDING, nothing else) never replaces what is known.
    """
    if current.status == TrackingStatus.PENDING and not current.checkpoints:
        return None
    current = normalized(current)
    if previous is None:
        merged = TrackingSnapshot(
            current.tracking_number,
            current.status,
            merge_checkpoints(current.checkpoints),
            current.estimated_delivery_at,
        )
        return Change(merged, ("first",))
    checkpoints = merge_checkpoints(previous.checkpoints, current.checkpoints)
    reasons = []
    if len(checkpoints) > len(previous.checkpoints):
        reasons.append("checkpoint")
    if current.status != previous.status:
        reasons.append("status")
    estimate = current.estimated_delivery_at or previous.estimated_delivery_at
    if estimate != previous.estimated_delivery_at:
        reasons.append("estimate")
    if not reasons:
        return None
    return Change(
        TrackingSnapshot(current.tracking_number, current.status, checkpoints, estimate),
        tuple(reasons),
    )


def event_id(package: Package, snapshot: TrackingSnapshot) -> str:
    """The same package and snapshot always give the same id, so a re-send is a duplicate."""
    content = {
        "order": package.order_id,
        "number": snapshot.tracking_number,
        "status": snapshot.status.value,
        "estimate": snapshot.estimated_delivery_at.isoformat()
        if snapshot.estimated_delivery_at
        else None,
        "checkpoints": [[c.at.isoformat(), *(_key(c)[1:])] for c in snapshot.checkpoints],
    }
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    return f"evt-trk-{digest[:32]}"


def status_event(
    package: Package, snapshot: TrackingSnapshot, now: datetime
) -> CloudEvent[StatusChanged]:
    """`orders.status-changed` from the carrier; order-ingest derives the order status."""
    occurred = snapshot.checkpoints[-1].at if snapshot.checkpoints else now
    data = StatusChanged(
        order_id=package.order_id,
        shop_id=package.shop_id,
        occurred_at=occurred,
        source=StatusSource.CARRIER,
        package=PackageUpdate(
            package_id=package.package_id,
            carrier=package.carrier,
            tracking_number=snapshot.tracking_number,
            tracking_status=snapshot.status,
            checkpoints=list(snapshot.checkpoints),
            estimated_delivery_at=snapshot.estimated_delivery_at,
        ),
    )
    return make_event(
        data,
        source=EVENT_SOURCE,
        subject=package.order_id,
        event_id=event_id(package, snapshot),
        time=now,
    )


def next_poll(
    status: TrackingStatus,
    now: datetime,
    cadence_seconds: float,
    rng: random.Random | None = None,
) -> datetime | None:
    """When to poll again: None at a final state; else the cadence, give or take 10%.

    The spread keeps parcels registered together from being polled together forever.
    """
    if status in TERMINAL_TRACKING:
        return None
    spread = (rng or random).uniform(0.9, 1.1)
    return now + timedelta(seconds=cadence_seconds * spread)


def retry_delay(attempts: int, base_seconds: float, cap_seconds: float) -> float:
    """Exponential backoff with full jitter for a job whose polls keep failing."""
    return random.uniform(0, min(cap_seconds, base_seconds * 2 ** min(attempts, 20)))


def shard_of(tracking_number: str, shards: int) -> int:
    """Stable across processes and versions (crc32, not the salted built-in hash)."""
    return zlib.crc32(tracking_number.encode()) % shards
