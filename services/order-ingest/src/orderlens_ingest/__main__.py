"""`orderlens-order-ingest` / `python -m orderlens_ingest`: run the service."""

from __future__ import annotations

import asyncio

from orderlens.logging import configure_logging
from orderlens_ingest.app import SERVICE, run
from orderlens_ingest.settings import IngestSettings


def main() -> None:
    settings = IngestSettings()
    configure_logging(SERVICE, settings.log_level, json_lines=settings.log_json)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
