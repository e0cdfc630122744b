"""`orderlens-query-api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

from typing import Any

import uvicorn

from orderlens.logging import configure_logging
from orderlens_query.app import create_app
from orderlens_query.limits import MAX_HEADER_BYTES
from orderlens_query.settings import QueryApiSettings


def server_config(settings: QueryApiSettings, app: Any | None = None) -> uvicorn.Config:
    """The uvicorn configuration the service runs with (the tests serve through it too)."""
    return uvicorn.Config(
        app if app is not None else create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        # Forwarded headers only from the configured proxies (issue 17 #8); none by default.
        # Never None: uvicorn would then trust 127.0.0.1 (or $FORWARDED_ALLOW_IPS).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or "",
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )


def main() -> None:
    settings = QueryApiSettings()
    configure_logging("query-api", settings.log_level, json_lines=settings.log_json)
    uvicorn.Server(server_config(settings)).run()


if __name__ == "__main__":
    main()
