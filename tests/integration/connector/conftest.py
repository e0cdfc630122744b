"""The TikTok Shop simulator served over real HTTP on a free port, in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
import uvicorn
from conn_support import serve, stop

from orderlens_devtools.tiktok_simulator.app import Config, Simulator, create_app


class RunningSimulator:
    def __init__(self, sim: Simulator, url: str) -> None:
        self.sim = sim
        self.url = url


@pytest_asyncio.fixture
async def simulator_factory() -> AsyncIterator[Any]:
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> RunningSimulator:
        config = Config(**overrides)
        sim = Simulator(config)
        server, task, url = await serve(create_app(config, sim))
        running.append((server, task))
        return RunningSimulator(sim, url)

    yield start
    for server, task in running:
        await stop(server, task)
