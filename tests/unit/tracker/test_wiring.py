"""Settings and wiring: the provider chosen by configuration, and settings that cannot work."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from tracker_fakes import ManualClock, make_transport

from orderlens.domain.status import TrackingStatus
from orderlens_devtools.cli import build_parser
from orderlens_tracker.adapters import (
    AfterShipAdapter,
    SeventeenTrackAdapter,
    SimulatorAdapter,
    build_adapter,
)
from orderlens_tracker.settings import Provider, TrackerSettings


def test_the_provider_is_chosen_by_configuration(clock: ManualClock) -> None:
    t = make_transport(lambda _: httpx.Response(200), clock)
    assert isinstance(build_adapter(TrackerSettings(), t), SimulatorAdapter)
    seventeen = TrackerSettings(
        carrier_provider=Provider.SEVENTEEN_TRACK, seventeentrack_api_key="k"
    )
    assert isinstance(build_adapter(seventeen, t), SeventeenTrackAdapter)
    aftership = TrackerSettings(carrier_provider=Provider.AFTERSHIP, aftership_api_key="k")
    assert isinstance(build_adapter(aftership, t), AfterShipAdapter)
    with pytest.raises(ValueError, match="SEVENTEENTRACK_API_KEY"):
        build_adapter(TrackerSettings(carrier_provider=Provider.SEVENTEEN_TRACK), t)


def test_published_limits_are_the_defaults() -> None:
    assert TrackerSettings().rate_limit() == 50.0
    assert TrackerSettings(carrier_provider="17track").rate_limit() == 3.0
    assert TrackerSettings(carrier_provider="aftership").rate_limit() == 6.0
    assert TrackerSettings(carrier_provider="17track", carrier_rate_limit=10).rate_limit() == 10.0


def test_cadences_can_be_set_per_status_and_scaled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CADENCE_SECONDS", '{"IN_TRANSIT": 600}')
    monkeypatch.setenv("CADENCE_SCALE", "0.5")
    settings = TrackerSettings()
    assert settings.cadence(TrackingStatus.IN_TRANSIT) == 300
    assert settings.cadence(TrackingStatus.OUT_FOR_DELIVERY) == 900, "others keep their default"


def test_a_lease_shorter_than_a_poll_is_refused() -> None:
    with pytest.raises(ValidationError, match="lease_seconds"):
        TrackerSettings(lease_seconds=30, carrier_timeout_seconds=10, carrier_max_attempts=3)


def test_the_cli_reads_the_simulator_options() -> None:
    args = build_parser().parse_args(
        ["carrier-simulator", "--port", "9999", "--rate-limit", "20/s", "--speed", "3600"]
    )
    assert args.command == "carrier-simulator"
    assert (args.port, args.rate_limit, args.speed) == (9999, "20/s", 3600.0)
