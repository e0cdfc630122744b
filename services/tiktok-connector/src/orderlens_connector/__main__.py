"""`python -m orderlens_connector`: the webhook receiver (the rest of issue 13 is not built yet)."""

from __future__ import annotations

import uvicorn

from .app import create_app
from .settings import ConnectorSettings


def main() -> None:
    settings = ConnectorSettings()
    uvicorn.run(
        create_app(settings), host=settings.http_host, port=settings.http_port, log_level="warning"
    )


if __name__ == "__main__":
    main()
