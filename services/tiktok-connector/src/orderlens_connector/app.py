"""Wiring: settings → Kafka notification log → FastAPI app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from fastapi import FastAPI

from .adapters.notification_log import KafkaNotificationLog
from .adapters.tiktok_client import TokenGrant
from .entrypoints.http import webhook_router
from .notifications import Notification
from .service import SyncResult
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


async def run_notification_worker(settings: ConnectorSettings, keys: str) -> None:
    """The consumer half: notifications → Get Order Detail → orders.created."""
    import httpx
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from orderlens.mongo import database, make_client

    from .adapters.ratelimit import Limiter
    from .adapters.shop_store import SeenNotificationsStore, ShopStore, key_ring
    from .adapters.snapshots import KafkaSnapshotPublisher
    from .adapters.tiktok_client import TikTokClient
    from .entrypoints.consumers import consume_notifications
    from .service import sync_notifications

    mongo = make_client(settings.mongodb_uri, app_name="orderlens-tiktok-connector")
    db = database(mongo, settings.mongodb_database)
    http = httpx.AsyncClient(timeout=settings.tiktok_timeout_seconds)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        acks="all",
        enable_idempotence=True,
    )
    consumer = AIOKafkaConsumer(
        settings.topic_tiktok_notifications,
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        group_id="orderlens-tiktok-connector",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    client = TikTokClient(
        http,
        app_key=settings.tiktok_app_key,
        app_secret=settings.tiktok_app_secret.get_secret_value(),
        api_base_url=settings.tiktok_api_base_url,
        auth_base_url=settings.tiktok_auth_base_url,
        limiter=Limiter(settings.tiktok_app_rate, settings.tiktok_shop_rate),
        max_retries=settings.tiktok_max_throttle_retries,
    )

    async def refresh(refresh_token: str) -> TokenGrant:
        return await client.token_refresh(refresh_token)

    shops = ShopStore(db, key_ring(keys), refresh)
    client.use_tokens(shops)
    seen = SeenNotificationsStore(db)
    await producer.start()
    await consumer.start()
    publisher = KafkaSnapshotPublisher(producer, settings.topic_orders_created)

    async def handle(batch: Sequence[Notification]) -> SyncResult:
        return await sync_notifications(
            batch, shops=shops, fetcher=client, seen=seen, publisher=publisher
        )

    try:
        await consume_notifications(consumer, handle)
    finally:
        await consumer.stop()
        await producer.stop()
        await http.aclose()
        await mongo.close()
