"""`orderlens-exporter` / `python -m orderlens_exporter`: consume export requests, write the
files, publish completions."""

from __future__ import annotations

import asyncio

from orderlens.lifecycle import run_until_signalled
from orderlens.logging import configure_logging
from orderlens_exporter.app import build
from orderlens_exporter.settings import SERVICE, ExporterSettings


async def serve(settings: ExporterSettings) -> None:
    exporter = build(settings)
    await run_until_signalled(exporter.start, exporter.stop)


def main() -> None:
    settings = ExporterSettings()
    configure_logging(SERVICE, settings.log_level, json_lines=settings.log_json)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
