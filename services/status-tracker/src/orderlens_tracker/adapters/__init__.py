"""Carrier tracking APIs behind one interface (`CarrierAdapter`)."""

from __future__ import annotations

from orderlens_tracker.adapters.aftership import AfterShipAdapter
from orderlens_tracker.adapters.base import CarrierAdapter, CarrierRejected, Parcel, TrackResult
from orderlens_tracker.adapters.seventeen_track import SeventeenTrackAdapter
from orderlens_tracker.adapters.simulator import SimulatorAdapter
from orderlens_tracker.adapters.transport import Transport
from orderlens_tracker.settings import Provider, TrackerSettings

__all__ = [
    "AfterShipAdapter",
    "CarrierAdapter",
    "CarrierRejected",
    "Parcel",
    "SeventeenTrackAdapter",
    "SimulatorAdapter",
    "TrackResult",
    "build_adapter",
]


def build_adapter(settings: TrackerSettings, transport: Transport) -> CarrierAdapter:
    provider = settings.carrier_provider
    if provider == Provider.SEVENTEEN_TRACK:
        return SeventeenTrackAdapter(
            transport, settings.seventeentrack_url, settings.seventeentrack_api_key
        )
    if provider == Provider.AFTERSHIP:
        return AfterShipAdapter(transport, settings.aftership_url, settings.aftership_api_key)
    return SimulatorAdapter(
        transport, settings.carrier_simulator_url, max_batch=settings.carrier_simulator_batch
    )
