"""`orderlens-console`: serve the console with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from orderlens_console.app import create_app
from orderlens_console.settings import ConsoleSettings


def main() -> None:
    settings = ConsoleSettings()
    logging.basicConfig(level=settings.log_level)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port)


if __name__ == "__main__":
    main()
