"""Serving the simulator: in the foreground (the CLI) or in the background of a test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn

from orderlens_devtools.carrier_simulator.app import CarrierSimulator, SimulatorConfig


def _server(simulator: CarrierSimulator, log_level: str) -> uvicorn.Server:
    config = uvicorn.Config(
        simulator.app,
        log_level=log_level.lower(),
        access_log=False,
        lifespan="off",
        # Connections from a pooled client stay open between polls.
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


def serve(config: SimulatorConfig, *, host: str, port: int, log_level: str = "info") -> None:
    """Run until interrupted (SIGINT/SIGTERM)."""
    simulator = CarrierSimulator(config)
    server = _server(simulator, log_level)
    server.config.host = host
    server.config.port = port
    server.run()


@dataclass
class RunningSimulator:
    simulator: CarrierSimulator
    url: str


@contextlib.asynccontextmanager
async def running(
    config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    """Serve in the current event loop on `port` (0: any free port) until the block exits."""
    simulator = CarrierSimulator(config)
    server = _server(simulator, "warning")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield RunningSimulator(simulator, f"http://{host}:{bound_port}")
    finally:
        server.should_exit = True
        await task
        sock.close()
