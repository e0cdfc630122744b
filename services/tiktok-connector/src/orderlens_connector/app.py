"""Wiring: settings → Kafka notification log → FastAPI app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from .adapters.notification_log import KafkaNotificationLog
from .entrypoints.http import webhook_router
from .settings import ConnectorSettings


def create_app(settings: ConnectorSettings) -> FastAPI:
    log = KafkaNotificationLog(
        settings.kafka_bootstrap_servers, settings.topic_tiktok_notifications
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await log.start()
        try:
            yield
        finally:
            await log.stop()

    app = FastAPI(title="orderlens tiktok-connector", lifespan=lifespan)
    app.include_router(webhook_router(settings, log))
    return app
