"""`orderlens-query-api`: serve the HTTP API with uvicorn."""

from __future__ import annotations

import uvicorn

from orderlens.logging import configure_logging
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings


def main() -> None:
    settings = QueryApiSettings()
    configure_logging("query-api", settings.log_level, json_lines=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
