"""The carrier simulator's HTTP API, called in-process (ASGI), as the tracker calls it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from orderlens_devtools.carrier_simulator import CarrierSimulator, SimulatorConfig
from orderlens_devtools.carrier_simulator.limits import parse_rate, retry_after_header


def client_for(simulator: CarrierSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator.app), base_url="http://simulator"
    )


async def track(client: httpx.AsyncClient, *numbers: str) -> httpx.Response:
    return await client.post("/v1/track", json={"tracking_numbers": list(numbers)})


async def test_a_batch_answers_every_number() -> None:
    simulator = CarrierSimulator(SimulatorConfig(latency_ms=0, rate_limit=None))
    async with client_for(simulator) as client:
        response = await track(client, "SIMDLV00001", "TN0000002", "bad!")
    assert response.status_code == 200
    body = response.json()
    assert [t["tracking_number"] for t in body["trackings"]] == ["SIMDLV00001", "TN0000002"]
    # Just registered: the carrier has no scan yet.
    assert body["trackings"][0]["status"] == "PENDING"
    assert body["trackings"][0]["checkpoints"] == []
    assert body["errors"][0]["tracking_number"] == "bad!"


@pytest.mark.parametrize(
    "body",
    [{"tracking_numbers": []}, {"tracking_numbers": [f"TN{i:06d}" for i in range(41)]}, {"x": 1}],
)
async def test_malformed_requests_are_refused(body: object) -> None:
    simulator = CarrierSimulator(SimulatorConfig(latency_ms=0, rate_limit=None))
    async with client_for(simulator) as client:
        response = await client.post("/v1/track", json=body)
    assert response.status_code == 400
    assert simulator.stats.bad_requests == 1


async def test_over_the_limit_answers_429_with_retry_after_and_is_counted() -> None:
    simulator = CarrierSimulator(SimulatorConfig(latency_ms=0, rate_limit=5.0))
    async with client_for(simulator) as client:
        answers = [await track(client, "TN0000001") for _ in range(8)]
        stats = (await client.get("/_stats")).json()
    codes = [a.status_code for a in answers]
    assert codes[:5] == [200] * 5, "a full bucket lets one second's worth through"
    assert set(codes[5:]) == {429}
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[5:])
    assert stats["over_limit"] == 3
    assert stats["accepted"] == 5


async def test_injected_faults_and_outages() -> None:
    simulator = CarrierSimulator(
        SimulatorConfig(latency_ms=0, rate_limit=None, error_rate=1.0, seed=1)
    )
    async with client_for(simulator) as client:
        assert (await track(client, "TN0000001")).status_code in (500, 502, 503)
        await client.post("/_config", json={"error_rate": 0.0, "outage": True})
        assert (await track(client, "TN0000001")).status_code == 503
        await client.post("/_config", json={"outage": False, "throttle_rate": 1.0})
        throttled = await track(client, "TN0000001")
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "1"
        refused = await client.post("/_config", json={"speed": 2})
        assert refused.status_code == 400
    assert simulator.stats.errors_injected == 2
    assert simulator.stats.throttled_injected == 1


async def test_concurrent_polls_of_one_parcel_are_counted() -> None:
    simulator = CarrierSimulator(SimulatorConfig(latency_ms=50, latency_sigma=0, rate_limit=None))
    async with client_for(simulator) as client:
        await asyncio.gather(track(client, "TN0000001", "TN0000002"), track(client, "TN0000002"))
        await track(client, "TN0000001")  # later, alone: not concurrent
        stats = (await client.get("/_stats", params={"per_number": "1"})).json()
    assert stats["concurrent_polls"] == 1
    assert stats["max_in_flight_per_number"] == 2
    assert stats["polls_per_number"] == {"TN0000001": 2, "TN0000002": 2}
    assert stats["in_flight_now"] == 0


@pytest.mark.parametrize(
    ("text", "per_second"), [("50", 50.0), ("50/s", 50.0), ("3000/min", 50.0), (" 2 / S ", 2.0)]
)
def test_rates_are_read_per_second(text: str, per_second: float) -> None:
    assert parse_rate(text) == per_second


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.2) == "2"
