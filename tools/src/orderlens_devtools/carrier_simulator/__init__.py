"""A simulated carrier tracking API for local runs, demos and load tests.

Parcels follow realistic journeys planned from their tracking numbers; the server adds
latency, errors, 429s with `Retry-After` and a rate limit, and counts what it saw for tests
(`GET /_stats`). See docs/carrier-simulator.md.
"""

from orderlens_devtools.carrier_simulator.app import CarrierSimulator, SimulatorConfig
from orderlens_devtools.carrier_simulator.server import RunningSimulator, running, serve

__all__ = ["CarrierSimulator", "RunningSimulator", "SimulatorConfig", "running", "serve"]
