"""The `accepted_actions` collection: the last action accepted per order (decision 0071).

The read model lags the actions: order-ingest applies a published event some time later. An
action is checked against the status the last accepted action leads to until the read model has
applied that event (its id is in the order's history), so a second ship or cancel before ingest
catches up answers 409. One record per order, replaced by compare-and-set on `version`: of two
concurrent actions on one order, one is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.domain.status import OrderStatus
from orderlens.mongo import Document

COLLECTION = "accepted_actions"


@dataclass(frozen=True)
class Accepted:
    event_id: str
    status: OrderStatus
    version: int


class AcceptedActions:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._actions = db[COLLECTION]

    async def last(self, order_id: str) -> Accepted | None:
        doc = await self._actions.find_one({"_id": order_id})
        if doc is None:
            return None
        return Accepted(doc["event_id"], OrderStatus(doc["status"]), int(doc["version"]))

    async def record(
        self,
        order_id: str,
        previous: Accepted | None,
        event_id: str,
        status: OrderStatus,
        now: datetime,
    ) -> bool:
        """Replace `previous` by this action; False when another action got there first."""
        fields = {"event_id": event_id, "status": status.value, "accepted_at": now}
        if previous is None:
            try:
                await self._actions.insert_one({"_id": order_id, **fields, "version": 1})
            except DuplicateKeyError:
                return False
            return True
        result = await self._actions.update_one(
            {"_id": order_id, "version": previous.version},
            {"$set": {**fields, "version": previous.version + 1}},
        )
        return result.modified_count == 1

    async def undo(self, order_id: str, previous: Accepted | None, event_id: str) -> None:
        """Put `previous` back after publishing `event_id` failed."""
        if previous is None:
            await self._actions.delete_one({"_id": order_id, "event_id": event_id})
            return
        await self._actions.update_one(
            {"_id": order_id, "event_id": event_id},
            {
                "$set": {
                    "event_id": previous.event_id,
                    "status": previous.status.value,
                    "version": previous.version + 2,
                }
            },
        )


def effective_status(
    stored: OrderStatus, history_ids: set[str], last: Accepted | None
) -> OrderStatus:
    """The read model's status, or the last accepted action's while ingest has not applied it."""
    if last is None or last.event_id in history_ids:
        return stored
    return last.status
