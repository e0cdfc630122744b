"""`orderlens-status-tracker` / `python -m orderlens_tracker`: run one tracker replica."""

from __future__ import annotations

import asyncio

from orderlens.lifecycle import run_until_signalled
from orderlens.logging import configure_logging
from orderlens_tracker.app import TrackerApp
from orderlens_tracker.settings import SERVICE, TrackerSettings


async def run(settings: TrackerSettings) -> None:
    app = TrackerApp(settings)
    await run_until_signalled(app.start, app.stop)


def main() -> None:
    settings = TrackerSettings()
    configure_logging(SERVICE, settings.log_level, json_lines=settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
