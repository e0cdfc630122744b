"""The console script `orderlens-webhook-dispatcher`: serve (default), `parked`, `replay`."""

from __future__ import annotations

import asyncio
import sys

from orderlens.logging import configure_logging

from .app import serve
from .entrypoints.cli import parser, run_command
from .settings import SERVICE, DispatcherSettings


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = DispatcherSettings()
    configure_logging(SERVICE, settings.log_level, json_lines=settings.log_json)
    if args.command in (None, "serve"):
        asyncio.run(serve(settings))
        return
    sys.exit(run_command(args, settings))


if __name__ == "__main__":
    main()
