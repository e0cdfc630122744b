"""The service layer: one call per consumed batch, from valid events to durable documents.

Per batch (`on_batch`), its partitions at once (docs/decisions/0199), each: insert the
snapshots' orders as new, unless `KnownOrders` (the orders written lately, 0196) says they
exist, and read (by `_id`) those a duplicate key names; compute their new documents with the
pure domain functions, write them with one `bulk_write` conditional on the versions read (only
the fields that changed, 0197), and do it again for the few orders another writer changed
meanwhile. Then fold the status changes into the orders, starting from the known documents
rather than reading them again. The read models (parked events, shared-address flags, sales
buckets, tab counts) are kept in step: the sales buckets and the tab counts by the moves of the
orders written (docs/decisions/0135, 0141), announced first so that a crash in between is
repaired at start-up. Every step is idempotent, so a batch cut short by a crash or an outage is
simply done again (docs/decisions/0037)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import Counter as PromCounter

from orderlens import counts_store, sales_store
from orderlens.consumer import Outcome, Received
from orderlens.domain.order import Order
from orderlens.events import OrderCreated
from orderlens.tiktok import TikTokOrder
from orderlens_ingest.adapters.mongo_store import OrderStore, Write
from orderlens_ingest.domain.fold import to_ms
from orderlens_ingest.domain.orders import (
    StatusEvent,
    from_snapshot,
    snapshot_is_newer,
    with_status_events,
)
from orderlens_ingest.domain.risk import (
    SHARED_ADDRESS,
    RiskRules,
    shared_address_flags,
)

log = logging.getLogger("orderlens_ingest")

PARKED = PromCounter(
    "orderlens_ingest_parked_total", "Status events parked until their order arrives.", []
)
UNPARKED = PromCounter(
    "orderlens_ingest_unparked_total", "Parked status events folded into their order.", []
)
CONFLICTS = PromCounter(
    "orderlens_ingest_write_conflicts_total",
    "Order writes that lost a race with another writer and were computed again.",
    [],
)

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def _slot(order: Order | None) -> counts_store.Slot | None:
    if order is None:
        return None
    return counts_store.slot_of(order.shop_id, order.status.value, order.return_status.value)


def _share(order: Order | None) -> sales_store.Share | None:
    if order is None:
        return None
    return sales_store.share_of(
        order.shop_id,
        order.money.currency,
        order.paid_at,
        order.status.value,
        order.money.total,
        order.units,
    )


SalesMove = tuple[sales_store.Share | None, sales_store.Share | None]


@dataclass
class _Plan:
    """The writes of one attempt, and what each write moves (by order id): its order between
    tab-count slots (`moves`), its figures between sales buckets (`sales`)."""

    writes: list[Write] = field(default_factory=list)
    moves: dict[str, tuple[counts_store.Slot | None, counts_store.Slot]] = field(
        default_factory=dict
    )
    sales: dict[str, SalesMove] = field(default_factory=dict)

    def add(self, old: Order | None, new: Order) -> None:
        self.writes.append(Write(new, old))
        was, now = _slot(old), _slot(new)
        if was != now:
            assert now is not None
            self.moves[new.id] = (was, now)
        before, after = _share(old), _share(new)
        if before != after:
            self.sales[new.id] = (before, after)

    def buckets(self) -> set[sales_store.BucketKey]:
        return {s[0] for move in self.sales.values() for s in move if s is not None}


class KnownOrders:
    """The stored documents order-ingest read or wrote lately, newest last, at most `size`.

    One consumer owns an order (docs/decisions/0034), so what it wrote is, nearly always, what
    is stored: a batch starts from these copies instead of reading its orders again (reading
    and validating them was a fifth of order-ingest's CPU time, docs/decisions/0196). A copy
    another writer made stale (a consumer left over from a rebalance, a neighbour's risk flags
    set by another consumer) costs one lost version-guarded write, after which the order is
    read again; where writes cannot be guarded (`OrderStore.compare_and_set` false) nothing is
    kept across batches. Copies are kept as written: what order-ingest writes is what a read
    returns (its datetimes are UTC milliseconds; test_written_orders_read_back_equal)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._orders: OrderedDict[str, Order] = OrderedDict()

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def put(self, order: Order) -> None:
        self._orders[order.id] = order
        self._orders.move_to_end(order.id)

    def drop(self, order_id: str) -> None:
        self._orders.pop(order_id, None)

    def trim(self, size: int | None = None) -> None:
        keep = self.size if size is None else size
        while len(self._orders) > keep:
            self._orders.popitem(last=False)

    def __len__(self) -> int:
        return len(self._orders)


class Ingest:
    def __init__(
        self,
        store: OrderStore,
        rules: RiskRules | None = None,
        clock: Clock = _now,
        known_orders: int = 5_000,
    ) -> None:
        self.store = store
        self.rules = rules or RiskRules()
        self.clock = clock
        self.known = KnownOrders(known_orders)

    # -- batches --------------------------------------------------------------------------------

    async def on_batch(
        self, created: Sequence[Received], changes: Sequence[Received]
    ) -> tuple[Outcome, Outcome]:
        """One consumed batch. Its partitions are independent (all events of an order are in
        one partition of each topic, docs/decisions/0034), so they are handled at once: one's
        computing overlaps another's database round trips, which otherwise took turns with it
        (docs/decisions/0199). In each: its snapshots, then its status changes (fewer of them
        wait for their order)."""
        groups: dict[int, tuple[list[Received], list[Received]]] = {}
        for received in created:
            groups.setdefault(received.partition, ([], []))[0].append(received)
        for received in changes:
            groups.setdefault(received.partition, ([], []))[1].append(received)
        work = self.known
        results: list[tuple[Outcome, Outcome] | BaseException]
        if self.store.compare_and_set:
            results = await asyncio.gather(
                *(self._partition(c, s, work) for c, s in groups.values()),
                return_exceptions=True,
            )
        else:  # writes by `_id` alone: nothing trusted from an earlier batch, one at a time
            work.trim(0)
            results = [await self._partition(c, s, work) for c, s in groups.values()]
        snapshots, statuses = Outcome(), Outcome()
        for result in results:
            if isinstance(result, BaseException):
                work.trim(0)  # a batch cut short: its writes may or may not have happened
                raise result  # every partition has finished: the batch is simply done again
            snapshots.merge(result[0])
            statuses.merge(result[1])
        work.trim()
        return snapshots, statuses

    async def _partition(
        self, created: Sequence[Received], changes: Sequence[Received], work: KnownOrders
    ) -> tuple[Outcome, Outcome]:
        snapshots = await self._created(created, work) if created else Outcome()
        statuses = await self._status(changes, work) if changes else Outcome()
        return snapshots, statuses

    async def on_created(self, batch: Sequence[Received]) -> Outcome:
        return (await self.on_batch(batch, []))[0]

    async def on_status(self, batch: Sequence[Received]) -> Outcome:
        return (await self.on_batch([], batch))[1]

    # -- orders.created ---------------------------------------------------------------------------

    async def _created(self, batch: Sequence[Received], work: KnownOrders) -> Outcome:
        outcome = Outcome()
        latest: dict[str, tuple[str, TikTokOrder, str]] = {}
        for received in batch:
            data: OrderCreated = received.event.data
            order_id = data.order.id
            current = latest.get(order_id)
            if current is None or data.order.update_time > current[1].update_time:
                if current is not None:
                    outcome.ignore("stale")
                latest[order_id] = (data.shop_id, data.order, received.event.id)
            else:
                same = received.event.id == current[2]
                outcome.ignore("duplicate" if same else "stale")
        touched: dict[str, Order] = {}
        verdicts: dict[str, str] = {}
        pending = set(latest)
        # First guess that every order is new: a new order then costs one insert and no read,
        # and a duplicate key names the orders to read and compute again, as a lost race would.
        guess = True
        while pending:
            if guess:  # the orders known to exist are known as stored; the others are new
                stored = {i: o for i in pending if (o := work.get(i)) is not None}
            else:
                stored = await self._load(pending, work)
            plan = _Plan()
            for order_id in sorted(pending):
                shop_id, snapshot, _ = latest[order_id]
                existing = stored.get(order_id)
                if existing is not None:
                    touched[order_id] = existing
                if not snapshot_is_newer(existing, snapshot):
                    assert existing is not None
                    same = existing.source_update_time == snapshot.update_time
                    verdicts[order_id] = "duplicate" if same else "stale"
                    continue
                new = from_snapshot(shop_id, snapshot, existing, self.rules, self.clock())
                plan.add(existing, new)
                touched[order_id] = new
                verdicts[order_id] = "applied"
            pending = await self._write(plan, work, guess=guess)
            guess = False
        for verdict in verdicts.values():
            if verdict == "applied":
                outcome.applied += 1
            else:
                outcome.ignore(verdict)
        await self._fold_parked(latest, work)
        await self._shared_addresses(touched.values(), work)
        return outcome

    async def _fold_parked(self, order_ids: Iterable[str], work: KnownOrders) -> None:
        """Apply the status events that arrived before their order (read after the orders were
        written, so an event parked concurrently is seen by one side or the other)."""
        parked = await self.store.parked_for(order_ids)
        if not parked:
            return
        verdicts = await self._apply_status(parked, work)
        done = [event_id for event_id, verdict in verdicts.items() if verdict != "missing"]
        await self.store.unpark(done)
        UNPARKED.inc(len(done))

    async def _shared_addresses(self, orders: Iterable[Order], work: KnownOrders) -> None:
        """Set or clear the shared-address flag on these orders and on the neighbours whose
        window they fall in (a function of the set of orders, whatever their arrival order)."""
        window = self.rules.shared_address_window
        keyed = [o for o in orders if o.address_key]
        if not keyed:
            return
        # Noted after the orders were written and before the look-up, so of two consumers
        # writing orders at one address at once, the later look-up sees both (0142).
        await self.store.note_addresses(keyed)
        around = [(o.address_key or "", o.created_at) for o in keyed]
        moments: dict[str, list[datetime]] = {}
        for key, moment in around:
            moments.setdefault(key, []).append(moment)
        for _ in range(10):
            # The neighbours within one window of these orders are those whose flag may
            # change; their own windows reach one more window out: read that far.
            found = await self.store.neighbours(around, 2 * window)
            verdicts = shared_address_flags((f.neighbour for f in found), self.rules)
            updates = []
            for item in found:
                at = item.neighbour
                if not any(abs(at.created_at - m) <= window for m in moments[at.address_key]):
                    continue  # its own window reaches beyond what was read
                flag = verdicts.get(item.neighbour.order_id)
                others = [f for f in item.risk_flags if f.code != SHARED_ADDRESS]
                wanted = sorted([*others, *([flag] if flag else [])], key=lambda f: f.code)
                if wanted != item.risk_flags:
                    updates.append((item.neighbour.order_id, item.version, wanted))
            lost = await self.store.set_risk(updates)
            for order_id, _, _ in updates:
                work.drop(order_id)  # its version moved on: read it again if needed
            if not lost:
                return
            CONFLICTS.inc(len(lost))
        raise RuntimeError("shared-address flags keep conflicting with other writers")

    # -- orders.status-changed --------------------------------------------------------------------

    async def _status(self, batch: Sequence[Received], work: KnownOrders) -> Outcome:
        outcome = Outcome()
        unique: dict[str, StatusEvent] = {}
        for received in batch:
            if received.event.id in unique:
                outcome.ignore("duplicate")
            else:
                unique[received.event.id] = StatusEvent(received.event.id, received.event.data)
        events = list(unique.values())
        verdicts = await self._apply_status(events, work)
        missing = [e for e in events if verdicts.get(e.event_id) == "missing"]
        if missing:
            await self.store.park(missing, self.clock())
            PARKED.inc(len({e.event_id for e in missing}))
            # The order may have been written while these were parked: look again.
            arrived = await self.store.load({e.data.order_id for e in missing})
            for order in arrived.values():
                work.put(order)
            late = [e for e in missing if e.data.order_id in arrived]
            if late:
                again = await self._apply_status(late, work)
                await self.store.unpark(e for e, v in again.items() if v != "missing")
                verdicts.update(again)
        for event in events:
            verdict = verdicts[event.event_id]
            if verdict in ("applied", "missing"):
                outcome.applied += 1  # a parked event is durably kept
            else:
                outcome.ignore(verdict)
        return outcome

    async def _apply_status(
        self, events: Sequence[StatusEvent], work: KnownOrders
    ) -> dict[str, str]:
        """Fold the events into their orders; per event id: applied, stale, duplicate,
        shop_mismatch, or missing (no such order yet)."""
        by_order: dict[str, list[StatusEvent]] = {}
        for event in events:
            by_order.setdefault(event.data.order_id, []).append(event)
        verdicts: dict[str, str] = {}
        pending = set(by_order)
        while pending:
            stored = await self._load(pending, work)
            plan = _Plan()
            for order_id in sorted(pending):
                existing = stored.get(order_id)
                if existing is None:
                    verdicts.update((e.event_id, "missing") for e in by_order[order_id])
                    continue
                mine = []
                for event in by_order[order_id]:
                    if event.data.shop_id != existing.shop_id:
                        verdicts[event.event_id] = "shop_mismatch"
                        log.warning(
                            "status event of another shop ignored",
                            extra={"event_id": event.event_id, "order_id": order_id},
                        )
                    else:
                        mine.append(event)
                known = {entry.event_id for entry in existing.history}
                new = with_status_events(existing, mine)
                applied = {entry.event_id for entry in new.history if entry.applied}
                for event in mine:
                    if event.event_id in known:
                        verdicts[event.event_id] = "duplicate"
                    else:
                        verdicts[event.event_id] = (
                            "applied" if event.event_id in applied else "stale"
                        )
                if new is not existing:  # a new event: its history entry at least is new
                    new = new.model_copy(update={"last_synced_at": to_ms(self.clock())})
                    plan.add(existing, new)
            pending = await self._write(plan, work)
        return verdicts

    # -- shared ---------------------------------------------------------------------------------

    async def _load(self, ids: set[str], work: KnownOrders) -> dict[str, Order]:
        """The stored orders among `ids`: those this batch knows, the others read by `_id`."""
        found = {i: o for i in ids if (o := work.get(i)) is not None}
        if len(found) < len(ids):
            read = await self.store.load(ids - found.keys())
            for order in read.values():
                work.put(order)
            found.update(read)
        return found

    async def _write(self, plan: _Plan, work: KnownOrders, *, guess: bool = False) -> set[str]:
        """Announce the tab counts and sales buckets the plan moves, write the orders, then add
        the moves of the writes that happened (a lost write moved nothing; its order is
        computed again); answer the orders to compute again (when `guess`, the orders written
        as new that exist already: not a race). A crash in between leaves the announcements,
        repaired at start-up (0135, 0141)."""
        shops = sorted({after[0] for _, after in plan.moves.values()})
        buckets = plan.buckets()
        # The two read models are apart (collections, documents): announced, and then
        # added to, at once.
        await asyncio.gather(
            sales_store.begin(self.store.db, buckets), counts_store.begin(self.store.db, shops)
        )
        written, lost = await self.store.write(plan.writes)
        moved = counts_store.deltas(m for i, m in plan.moves.items() if i not in lost)
        sold = sales_store.deltas(m for i, m in plan.sales.items() if i not in lost)
        await asyncio.gather(
            counts_store.apply(self.store.db, shops, moved),
            sales_store.apply(self.store.db, buckets, sold),
        )
        for order in written:
            if order.id in lost:
                work.drop(order.id)
            else:
                work.put(order)
        if lost and not guess:
            CONFLICTS.inc(len(lost))
            log.info("orders changed meanwhile; computing them again", extra={"n": len(lost)})
        return lost

    async def repair(self, parked_limit: int = 10_000) -> None:
        """At start-up: repair sales buckets and parked events a crash may have left behind,
        and build the tab counts once for orders stored before they existed."""
        repaired = await sales_store.repair(self.store.db)
        if repaired:
            log.info("recomputed pending sales buckets", extra={"buckets": repaired})
        recounted = await counts_store.repair(self.store.db)
        if recounted:
            log.info("recomputed pending tab counts", extra={"shops": recounted})
        built = await counts_store.ensure_built(self.store.db)
        if built:
            log.info("built the tab counts of stored orders", extra={"shops": built})
        order_ids = await self.store.parked_order_ids(parked_limit)
        if order_ids:
            await self._fold_parked(order_ids, KnownOrders(0))
