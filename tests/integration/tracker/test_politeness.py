"""Politeness and resilience against the simulated carrier: its rate limit is never exceeded, and
an outage opens the circuit breaker, which closes again on recovery."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from trk_support import StartTracker, simulator_stats

from orderlens.waiting import wait_for
from orderlens_devtools.carrier_simulator import SimulatorConfig, running
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.domain import Package
from orderlens_tracker.settings import TrackerSettings

LIMIT = 20.0


def packages(count: int, prefix: str = "TN") -> list[Package]:
    return [
        Package(f"{prefix}{i:08d}", f"order-{i}", "shop-1", None, "simpost") for i in range(count)
    ]


async def metric(app: TrackerApp, name: str, provider: str = "simulator") -> float | None:
    """A sample of the replica's /metrics, as Prometheus scrapes it."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{app.health.port}/metrics")).text
    for line in text.splitlines():
        if line.startswith(f'{name}{{provider="{provider}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_the_carriers_rate_limit_is_never_exceeded_by_two_replicas(
    tracker_settings: Callable[..., TrackerSettings], start_tracker: StartTracker
) -> None:
    config = SimulatorConfig(speed=1.0, latency_ms=10, rate_limit=LIMIT)
    async with running(config) as simulator:
        settings = tracker_settings(
            simulator.url,
            carrier_rate_limit=LIMIT,  # the account's limit, shared by the replicas
            carrier_simulator_batch=1,  # one parcel a request: demand far above the limit
            cadence_scale=0.2 / (4 * 3600),
            carrier_timeout_seconds=0.5,
            lease_seconds=3.0,
            shards=8,
        )
        first = await start_tracker(settings)
        second = await start_tracker(settings)

        async def both_see_two_replicas() -> bool:
            return all(
                app.leases.live_replicas == 2 and app.limiter.rate == LIMIT / 2
                for app in (first, second)
            )

        await wait_for(both_see_two_replicas, within=30, what="the limit to be divided")
        await first.jobs.add_many(packages(300), datetime.now(UTC))

        async def enough_requests() -> bool:
            return bool((await simulator_stats(simulator))["accepted"] >= 5 * LIMIT)

        await wait_for(enough_requests, within=60, what=f"{5 * LIMIT:.0f} requests")
        stats = await simulator_stats(simulator)
        assert stats["over_limit"] == 0
        assert stats["requests"] == stats["accepted"], "no request answered 429"
        assert first.poller.polls > 0
        assert second.poller.polls > 0
        assert await metric(first, "orderlens_tracker_rate_limited_total") in (None, 0.0)


async def test_a_carrier_outage_opens_the_breaker_which_closes_on_recovery(
    tracker_settings: Callable[..., TrackerSettings], start_tracker: StartTracker
) -> None:
    config = SimulatorConfig(speed=1.0, latency_ms=5, rate_limit=None)
    async with running(config) as simulator:
        settings = tracker_settings(
            simulator.url,
            breaker_failure_threshold=3,
            breaker_reset_seconds=1.0,
            cadence_scale=0.3 / (4 * 3600),
            carrier_timeout_seconds=0.5,
            lease_seconds=3.0,
            shards=4,
        )
        app = await start_tracker(settings)
        await app.jobs.add_many(packages(100, "OUT"), datetime.now(UTC))

        async def polled(count: int) -> bool:
            return bool((await simulator_stats(simulator))["accepted"] >= count)

        await wait_for(lambda: polled(5), within=30, what="polling to start")
        assert await metric(app, "orderlens_tracker_breaker_state") == 0.0

        async with httpx.AsyncClient() as client:
            await client.post(f"{simulator.url}/_config", json={"outage": True})

            async def breaker_is(state: float) -> bool:
                return await metric(app, "orderlens_tracker_breaker_state") == state

            await wait_for(lambda: breaker_is(2.0), within=15, what="the breaker to open")
            (await client.post(f"{simulator.url}/_stats/reset")).raise_for_status()
            # The outage goes on: only trials reach the carrier. The marker is the breaker's
            # own record: two more failed trials (two reset periods) after the reset.
            opened = app.breaker.opened_count

            async def reopened_twice() -> bool:
                return app.breaker.opened_count >= opened + 2

            await wait_for(reopened_twice, within=15, what="two failed trials")
            during = await simulator_stats(simulator)
            # Without the breaker, 4 workers retrying every ~0.1 s would send hundreds.
            assert during["requests"] <= 8
            assert during["accepted"] == 0

            await client.post(f"{simulator.url}/_config", json={"outage": False})
            await wait_for(lambda: breaker_is(0.0), within=15, what="the breaker to close")
        await wait_for(lambda: polled(10), within=30, what="polling to resume")
        assert app.breaker.opened_count >= 1
