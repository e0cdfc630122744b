"""`orderlens-status-tracker` / `python -m orderlens_tracker`: run one tracker replica."""

from __future__ import annotations

import asyncio
import signal

from orderlens.logging import configure_logging
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.consumer import SERVICE
from orderlens_tracker.settings import TrackerSettings


async def run(settings: TrackerSettings) -> None:
    app = TrackerApp(settings)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await app.start()
    try:
        await stopping.wait()
    finally:
        await app.stop()


def main() -> None:
    settings = TrackerSettings()
    configure_logging(SERVICE, settings.log_level, json_lines=settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
