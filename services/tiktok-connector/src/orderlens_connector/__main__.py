"""`python -m orderlens_connector`: the webhook receiver and the notifications worker."""

from __future__ import annotations

import asyncio

import uvicorn

from .app import create_app, run_notification_worker
from .settings import ConnectorSettings


async def serve(settings: ConnectorSettings) -> None:
    keys = settings.tiktok_token_keys.get_secret_value()
    if not keys:
        raise SystemExit("TIKTOK_TOKEN_KEYS is required (Fernet keys, newest first)")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
        )
    )
    worker = asyncio.create_task(run_notification_worker(settings, keys))
    try:
        await server.serve()
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


def main() -> None:
    asyncio.run(serve(ConnectorSettings()))


if __name__ == "__main__":
    main()
