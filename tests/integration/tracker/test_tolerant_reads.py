"""Job documents written by a newer tracker (docs/decisions/0190): this version still polls
their parcels, and what it writes back keeps the fields it does not know."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from trk_support import EventReader, StartTracker

from orderlens.events import CloudEvent, StatusChanged
from orderlens.waiting import wait_for
from orderlens_devtools.carrier_simulator import RunningSimulator
from orderlens_tracker.domain import shard_of
from orderlens_tracker.settings import TrackerSettings

Doc = dict[str, Any]


def newer_job(number: str, shards: int, snapshot: Doc | None, now: datetime) -> Doc:
    """A job as a newer tracker writes it: fields this version has never heard of, at the top,
    in the snapshot and in its checkpoints."""
    return {
        "_id": number,
        "tracking_number": number,
        "order_id": f"order-{number}",
        "shop_id": "shop-1",
        "package_id": "p1",
        "carrier": "USPS",
        "shard": shard_of(number, shards),
        "active": True,
        "snapshot": snapshot,
        "next_due_at": None,
        "created_at": now,
        "updated_at": now,
        "carrier_account": "acct-9",  # unknown here
    }


async def test_jobs_a_newer_tracker_wrote_are_polled_and_keep_their_unknown_fields(
    simulator: RunningSimulator,
    tracker_settings: Callable[..., TrackerSettings],
    start_tracker: StartTracker,
    event_reader: EventReader,
    mongo_db: AsyncDatabase[Doc],
) -> None:
    settings = tracker_settings(simulator.url)
    now = datetime.now(UTC)
    checkpoint = {
        "at": now - timedelta(hours=1),
        "status": "INFO_RECEIVED",
        "message": "label created",
        "location": None,
        "geo": {"lat": 40.7, "lon": -74.0},  # unknown here
    }
    jobs = [
        # Unknown fields at every depth.
        newer_job(
            "NEWER00001",
            settings.shards,
            {
                "status": "INFO_RECEIVED",
                "estimated_delivery_at": None,
                "checkpoints": [checkpoint],
                "source": "webhook",  # unknown here
            },
            now,
        ),
        # A snapshot this version cannot read at all (a status it does not know): the parcel is
        # polled afresh rather than its whole shard left unpolled.
        newer_job(
            "NEWER00002",
            settings.shards,
            {"status": "HELD_AT_CUSTOMS", "estimated_delivery_at": None, "checkpoints": []},
            now,
        ),
        # As this version writes it: the control.
        newer_job("NEWER00003", settings.shards, None, now),
    ]
    await mongo_db.tracking_jobs.insert_many(jobs)

    await start_tracker(settings)

    def every_parcel_reported(events: list[CloudEvent[StatusChanged]]) -> bool:
        reported = {e.data.package.tracking_number for e in events if e.data.package}
        return reported >= {job["_id"] for job in jobs}

    events = await event_reader.read_until(every_parcel_reported, within=60)
    first = next(e for e in events if e.data.package and e.data.order_id == "order-NEWER00001")
    assert first.data.shop_id == "shop-1"

    # The snapshot is saved just after its event is published.
    async def every_snapshot_saved() -> bool:
        saved = await mongo_db.tracking_jobs.count_documents({"changed_at": {"$exists": True}})
        return saved == len(jobs)

    await wait_for(every_snapshot_saved, within=30, what="the new snapshots saved")
    async for doc in mongo_db.tracking_jobs.find({}):
        assert doc["carrier_account"] == "acct-9"
        assert doc["snapshot"]["status"] != "HELD_AT_CUSTOMS"
