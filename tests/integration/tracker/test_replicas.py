"""Two tracker replicas over 1,000 parcels: never the same parcel twice at once, counted by the
carrier itself; and when one crashes, the other takes its parcels over."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from trk_support import StartTracker, simulator_stats

from orderlens.waiting import wait_for
from orderlens_devtools.carrier_simulator import SimulatorConfig, running
from orderlens_tracker.domain import Package
from orderlens_tracker.settings import TrackerSettings

PARCELS = 1000


async def test_two_replicas_never_poll_one_parcel_twice_at_once_and_survive_a_crash(
    tracker_settings: Callable[..., TrackerSettings],
    start_tracker: StartTracker,
) -> None:
    # Real-time journeys: after the first answer nothing changes, so this measures polling,
    # not event publishing. 20 ms a request makes overlapping polls visible to the carrier.
    config = SimulatorConfig(speed=1.0, latency_ms=20, latency_sigma=0.5, rate_limit=None)
    async with running(config) as simulator:
        settings = tracker_settings(
            simulator.url,
            lease_seconds=5.0,
            carrier_timeout_seconds=0.5,
            refresh_seconds=5.0,
            # Every parcel comes up every ~1.5 s: 1,000 parcels keep both replicas busy.
            cadence_scale=1.5 / (4 * 3600),
            carrier_concurrency=4,
            shards=32,
        )
        numbers = [f"TN{i:08d}" for i in range(PARCELS)]
        first = await start_tracker(settings)
        packages = [Package(n, f"order-{n}", "shop-1", None, "simpost") for n in numbers]
        assert await first.jobs.add_many(packages, datetime.now(UTC)) == PARCELS
        second = await start_tracker(settings)

        async def shared() -> bool:
            a, b = set(first.leases.owned), set(second.leases.owned)
            return len(a | b) == settings.shards and abs(len(a) - len(b)) <= 2

        await wait_for(shared, within=30, what="the replicas to share the shards")
        async with httpx.AsyncClient() as client:
            (await client.post(f"{simulator.url}/_stats/reset")).raise_for_status()
        polls_before = first.poller.polls, second.poller.polls

        async def every_parcel_polled(times: int) -> bool:
            stats = await simulator_stats(simulator, per_number=True)
            polls = stats["polls_per_number"]
            return len(polls) == PARCELS and min(polls.values()) >= times

        await wait_for(lambda: every_parcel_polled(3), within=60, what="3 polls of every parcel")

        stats = await simulator_stats(simulator)
        assert stats["concurrent_polls"] == 0
        assert stats["max_in_flight_per_number"] == 1
        assert stats["duplicates_in_request"] == 0
        assert first.poller.polls > polls_before[0]
        assert second.poller.polls > polls_before[1], "both replicas did their share"
        assert not set(first.leases.owned) & set(second.leases.owned)

        # The first replica crashes: no goodbye, its leases stay until they expire.
        await first.stop(release=False)
        before = (await simulator_stats(simulator, per_number=True))["polls_per_number"]

        async def second_took_over() -> bool:
            if len(second.leases.owned) < settings.shards:
                return False
            polls = (await simulator_stats(simulator, per_number=True))["polls_per_number"]
            return all(polls[n] >= before[n] + 2 for n in numbers)

        await wait_for(second_took_over, within=60, what="the survivor to poll every parcel")
        stats = await simulator_stats(simulator)
        assert stats["concurrent_polls"] == 0
        assert stats["max_in_flight_per_number"] == 1
