"""MongoDB adapter of order-ingest: orders with optimistic versions, parked status events, and the
neighbour lookup of the shared-address rule. Single-document atomic writes only: each write is
guarded by the version it read, so of two racing writers exactly one wins (docs/decisions/0086).
Every read and write goes by `_id` (docs/decisions/0140, 0142)."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from orderlens.domain.order import HistoryEntry, Order, RiskFlag
from orderlens.events import StatusChanged
from orderlens.indexes import ADDRESS_ORDERS, ORDERS, PARKED_STATUS_EVENTS
from orderlens.mongo import Document, find_by_ids
from orderlens_ingest.domain.orders import StatusEvent
from orderlens_ingest.domain.risk import Neighbour, buyer_key

_DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Write:
    """Store `order` in place of `before`, the stored document it was computed from (None for a
    new order): the write is guarded by `before`'s version and sends only what changed."""

    order: Order
    before: Order | None

    @property
    def expected(self) -> int | None:
        return None if self.before is None else self.before.version


def _update_of(before: Order, after: Order) -> dict[str, Any]:
    """The update that turns the stored `before` into `after`: `$set` of the top-level fields
    that differ, and `$push` of the history entries appended (a status change usually adds one
    entry and moves a few fields: sending the whole document, and the server rewriting it from
    scratch, was most of a write's cost, docs/decisions/0197). A history that changed otherwise
    (a late event folded in time order) is set whole."""
    changed: set[str] = set()
    appended: list[HistoryEntry] = []
    for name in Order.model_fields:
        old, new = getattr(before, name), getattr(after, name)
        if old is new:
            continue
        if name == "history" and len(new) > len(old) and all(map(operator.is_, old, new)):
            appended = new[len(old) :]
        elif old != new:
            changed.add(name)
    update: dict[str, Any] = {"$set": after.model_dump(mode="python", include=changed)}
    if appended:
        update["$push"] = {"history": {"$each": [e.model_dump(mode="python") for e in appended]}}
    return update


@dataclass(frozen=True)
class StoredNeighbour:
    neighbour: Neighbour
    version: int
    risk_flags: list[RiskFlag]


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


_DAY = timedelta(days=1)


def _days(moment: datetime, reach: timedelta) -> list[str]:
    """The UTC days from `moment - reach` to `moment + reach`, as `address_orders` keys them."""
    first, last = (_utc(moment - reach).date(), _utc(moment + reach).date())
    days = []
    while first <= last:
        days.append(first.isoformat())
        first += _DAY
    return days


def _address_day(key: str, day: str) -> str:
    return f"{key}|{day}"


class OrderStore:
    """`compare_and_set`: write conditional on the version read, or by `_id` alone where the
    server's conditional updates are not atomic (`ServerCapabilities.atomic_conditional_updates`;
    there one consumer owns an order and the condition would only cost)."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        compare_and_set: bool = True,
        id_list_chunk: int | None = None,
    ) -> None:
        self.db = db
        #: `ServerCapabilities.id_list_chunk`: reads by many ids go in chunks of this size.
        self.id_list_chunk = id_list_chunk
        self.orders = db[ORDERS]
        self.parked = db[PARKED_STATUS_EVENTS]
        self.addresses = db[ADDRESS_ORDERS]
        self.compare_and_set = compare_and_set

    def _match(self, order_id: str, version: int) -> dict[str, Any]:
        if self.compare_and_set:
            return {"_id": order_id, "version": version}
        return {"_id": order_id}

    async def load(self, ids: Iterable[str]) -> dict[str, Order]:
        """One `$in` on `_id`, however many orders: an index read."""
        found = find_by_ids(self.orders, ids, chunk=self.id_list_chunk)
        return {str(doc["_id"]): Order.from_document(doc) async for doc in found}

    async def write(self, writes: Sequence[Write]) -> tuple[list[Order], set[str]]:
        """Insert or update, each conditional on the version read; answer the orders as written
        (their versions moved on) and the ids that lost a race with another writer (to be read
        and computed again)."""
        if not writes:
            return [], set()
        written = [w.order.model_copy(update={"version": (w.expected or 0) + 1}) for w in writes]
        ops: list[InsertOne[Document] | UpdateOne] = []
        for w, order in zip(writes, written, strict=True):
            if w.before is None:
                ops.append(InsertOne(order.to_document()))
            else:
                update = _update_of(w.before, order)
                ops.append(UpdateOne(self._match(order.id, w.before.version), update))
        conflicts: set[str] = set()
        try:
            result = await self.orders.bulk_write(ops, ordered=False)
            matched = result.matched_count
        except BulkWriteError as exc:
            details: Any = exc.details
            for error in details.get("writeErrors", []):
                if error.get("code") != _DUPLICATE_KEY:
                    raise
                conflicts.add(written[int(error["index"])].id)
            matched = int(details.get("nMatched", 0))
        updated = [order for w, order in zip(writes, written, strict=True) if w.before is not None]
        if matched < len(updated):
            # Which update lost is not reported: compare what is stored with what was sent.
            stored = await self.load(order.id for order in updated)
            conflicts |= {order.id for order in updated if stored.get(order.id) != order}
        return written, conflicts

    async def set_risk(self, updates: Sequence[tuple[str, int, list[RiskFlag]]]) -> set[str]:
        """Set the risk flags of orders at the given versions; answer the ids that moved on."""
        if not updates:
            return set()
        ops = [
            UpdateOne(
                self._match(order_id, version),
                {
                    "$set": {
                        "risk_flags": [f.model_dump() for f in flags],
                        "risk": [f.code for f in flags],
                    },
                    "$inc": {"version": 1},
                },
            )
            for order_id, version, flags in updates
        ]
        result = await self.orders.bulk_write(ops, ordered=False)
        if result.matched_count == len(ops):
            return set()
        wanted = {order_id: flags for order_id, _, flags in updates}
        lost: set[str] = set()
        async for doc in find_by_ids(self.orders, wanted, {"risk": 1}, chunk=self.id_list_chunk):
            if doc.get("risk") != [f.code for f in wanted[str(doc["_id"])]]:
                lost.add(str(doc["_id"]))
        return lost

    async def note_addresses(self, orders: Iterable[Order]) -> None:
        """Add these (stored) orders to the `address_orders` document of their address and
        creation day, which the neighbour lookup reads by `_id` ($addToSet: idempotent)."""
        members: dict[str, set[str]] = {}
        for order in orders:
            if order.address_key:
                day = _utc(order.created_at).date().isoformat()
                members.setdefault(_address_day(order.address_key, day), set()).add(order.id)
        ops = [
            UpdateOne({"_id": key}, {"$addToSet": {"orders": {"$each": sorted(ids)}}}, upsert=True)
            for key, ids in sorted(members.items())
        ]
        if ops:
            await self.addresses.bulk_write(ops, ordered=False)

    async def neighbours(
        self, around: Iterable[tuple[str, datetime]], reach: timedelta
    ) -> list[StoredNeighbour]:
        """The stored orders at each (address key, moment) of `around` created within `reach`
        of it: the address's day documents by `_id`, then their orders by `_id`, each checked
        against its stored address and creation time (a document may name an order whose
        address changed since)."""
        moments: dict[str, list[datetime]] = {}
        for key, moment in around:
            moments.setdefault(key, []).append(moment)
        if not moments:
            return []
        days = sorted(
            {_address_day(k, d) for k, ms in moments.items() for m in ms for d in _days(m, reach)}
        )
        ids: set[str] = set()
        async for doc in find_by_ids(self.addresses, days, chunk=self.id_list_chunk):
            ids.update(str(i) for i in doc.get("orders", []))
        if not ids:
            return []
        cursor = find_by_ids(
            self.orders,
            ids,
            {
                "address_key": 1,
                "created_at": 1,
                "buyer": 1,
                "recipient.name": 1,
                "version": 1,
                "risk_flags": 1,
            },
            chunk=self.id_list_chunk,
        )
        found = []
        async for doc in cursor:
            at, created = doc.get("address_key"), doc.get("created_at")
            if at not in moments or created is None:
                continue
            created = _utc(created)
            if not any(abs(created - m) <= reach for m in moments[at]):
                continue
            buyer = doc.get("buyer") or {}
            recipient = doc.get("recipient") or {}
            found.append(
                StoredNeighbour(
                    Neighbour(
                        order_id=str(doc["_id"]),
                        address_key=str(at),
                        created_at=created,
                        buyer=buyer_key(
                            buyer.get("user_id"), buyer.get("email"), recipient.get("name")
                        ),
                    ),
                    version=int(doc.get("version", 0)),
                    risk_flags=[RiskFlag.model_validate(f) for f in doc.get("risk_flags", [])],
                )
            )
        return found

    # -- parked status events (their order is not known yet) -----------------------------------

    async def park(self, events: Sequence[StatusEvent], parked_at: datetime) -> None:
        if not events:
            return
        ops = [
            InsertOne(
                {
                    "_id": e.event_id,
                    "order_id": e.data.order_id,
                    "shop_id": e.data.shop_id,
                    "parked_at": parked_at,
                    "event": e.data.model_dump(mode="json"),
                }
            )
            for e in {e.event_id: e for e in events}.values()
        ]
        try:
            await self.parked.bulk_write(ops, ordered=False)
        except BulkWriteError as exc:
            details: Any = exc.details
            if any(e.get("code") != _DUPLICATE_KEY for e in details.get("writeErrors", [])):
                raise  # a duplicate is an event parked before: nothing to do

    async def parked_for(self, order_ids: Iterable[str]) -> list[StatusEvent]:
        wanted = sorted(set(order_ids))
        if not wanted:
            return []
        found = []
        async for doc in self.parked.find({"order_id": {"$in": wanted}}):
            # A newer ingest may have parked it with fields added (docs/decisions/0190).
            event = StatusChanged.model_validate(doc["event"], extra="ignore")
            found.append(StatusEvent(str(doc["_id"]), event))
        return found

    async def parked_order_ids(self, limit: int) -> list[str]:
        ids: set[str] = set()
        async for doc in self.parked.find({}, {"order_id": 1}, limit=limit):
            ids.add(str(doc["order_id"]))
        return sorted(ids)

    async def unpark(self, event_ids: Iterable[str]) -> None:
        ids = sorted(set(event_ids))
        if ids:
            await self.parked.delete_many({"_id": {"$in": ids}})
