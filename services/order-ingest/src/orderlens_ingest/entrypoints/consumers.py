"""The subscriber of orders.created and orders.status-changed: one consumed batch → one
`Ingest.on_batch` call (snapshots first, then status changes: fewer of them wait for their
order), its verdicts handed back to the batch consumer per topic."""

from __future__ import annotations

from orderlens.consumer import Outcome, Received
from orderlens_ingest.service import Ingest


class OrderEventsSubscriber:
    def __init__(self, ingest: Ingest, *, created_topic: str, status_topic: str) -> None:
        self.ingest = ingest
        self.created_topic = created_topic
        self.status_topic = status_topic

    async def __call__(self, batch: list[Received]) -> Outcome:
        created = [r for r in batch if r.topic == self.created_topic]
        changes = [r for r in batch if r.topic != self.created_topic]
        snapshots, statuses = await self.ingest.on_batch(created, changes)
        outcome = Outcome()
        if created:
            outcome.per_topic[self.created_topic] = snapshots
        if changes:
            outcome.per_topic[self.status_topic] = statuses
        return outcome
