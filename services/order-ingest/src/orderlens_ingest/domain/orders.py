"""What a snapshot or a set of status events does to a stored order (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from orderlens.domain.order import Order
from orderlens.events import StatusChanged
from orderlens.normalise import normalise
from orderlens.tiktok import TikTokOrder
from orderlens_ingest.domain.fold import (
    base_of,
    checkpoints_of,
    entry_of,
    fold,
    fold_more,
    known_checkpoints,
    stored_checkpoints,
    to_ms,
)
from orderlens_ingest.domain.risk import (
    RiskRules,
    address_key,
    intrinsic_flags,
    shared_flag_of,
    with_flags,
)

# Fields that say when or how often a document was written, not what it holds.
BOOKKEEPING = frozenset({"version", "last_synced_at"})


@dataclass(frozen=True)
class StatusEvent:
    event_id: str
    data: StatusChanged


def snapshot_is_newer(existing: Order | None, snapshot: TikTokOrder) -> bool:
    """docs/contract.md §3.3: the greater `update_time` wins; an older or equal snapshot
    changes nothing."""
    return existing is None or snapshot.update_time > existing.source_update_time


def from_snapshot(
    shop_id: str,
    snapshot: TikTokOrder,
    existing: Order | None,
    rules: RiskRules,
    synced_at: datetime,
) -> Order:
    """The order once this (newer) snapshot replaces the stored one's snapshot fields; the status
    history and tracking data already received are folded over it again."""
    fresh = normalise(shop_id, snapshot, to_ms(synced_at))
    order = fold(
        fresh,
        base_of(fresh),
        existing.history if existing else [],
        stored_checkpoints(existing) if existing else [],
    )
    order = order.model_copy(
        update={
            "address_key": address_key(order.recipient),
            "version": existing.version if existing else 0,
        }
    )
    shared = shared_flag_of(existing) if existing else None
    return with_flags(order, [*intrinsic_flags(order, rules), *([shared] if shared else [])])


def with_status_events(existing: Order, events: Sequence[StatusEvent]) -> Order:
    """The order once these status events (new, duplicate or late) are part of its history;
    `existing` itself when every one of them is in it already."""
    known = known_checkpoints(existing)
    return fold_more(
        existing,
        [entry_of(e.event_id, e.data) for e in events],
        [c for e in events for c in checkpoints_of(e.data, known)],
    )


def same_content(a: Order, b: Order) -> bool:
    """Equal but for the bookkeeping fields."""
    left: dict[str, object] = a.model_dump(exclude=set(BOOKKEEPING))
    return bool(left == b.model_dump(exclude=set(BOOKKEEPING)))
