"""`python -m orderlens_connector`: webhooks, OAuth, the notifications and the sync workers."""

from __future__ import annotations

import asyncio

import uvicorn

from orderlens.lifecycle import cancel_and_wait

from .app import create_app, run_action_worker, run_notification_worker, run_sync_worker
from .settings import ConnectorSettings


async def serve(settings: ConnectorSettings) -> None:
    keys = settings.tiktok_token_keys.get_secret_value()
    if not keys:
        raise SystemExit("TIKTOK_TOKEN_KEYS is required (Fernet keys, newest first)")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, keys),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
        )
    )
    workers = [
        asyncio.create_task(run_notification_worker(settings, keys)),
        asyncio.create_task(run_sync_worker(settings, keys)),
        asyncio.create_task(run_action_worker(settings, keys)),
    ]
    try:
        await server.serve()
    finally:
        await cancel_and_wait(*workers)


def main() -> None:
    asyncio.run(serve(ConnectorSettings()))


if __name__ == "__main__":
    main()
