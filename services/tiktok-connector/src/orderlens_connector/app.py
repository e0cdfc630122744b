"""Wiring: settings → adapters (Kafka, MongoDB, TikTok client) → use cases → entrypoints."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from orderlens.mongo import database, make_client

from .adapters.metrics import ACTIONS, observe_call
from .adapters.notification_log import KafkaNotificationLog
from .adapters.ratelimit import Limiter
from .adapters.shop_store import SeenNotificationsStore, ShopStore, key_ring
from .adapters.snapshots import KafkaSnapshotPublisher
from .adapters.sync_store import SyncProgressStore
from .adapters.tiktok_client import TikTokClient, TokenGrant
from .entrypoints.http import webhook_router
from .entrypoints.oauth import oauth_router
from .notifications import Notification
from .service import SyncResult
from .settings import ConnectorSettings
from .sync import BackfillStarter, sync_due_shops


@dataclass
class Runtime:
    """The adapters one process shares: MongoDB, the HTTP client, the signed TikTok client."""

    mongo: Any
    http: httpx.AsyncClient
    client: TikTokClient
    shops: ShopStore
    progress: SyncProgressStore
    seen: SeenNotificationsStore

    async def close(self) -> None:
        await self.http.aclose()
        await self.mongo.close()


def build_runtime(settings: ConnectorSettings, keys: str) -> Runtime:
    mongo = make_client(settings.mongodb_uri, app_name="orderlens-tiktok-connector")
    db = database(mongo, settings.mongodb_database)
    http = httpx.AsyncClient(timeout=settings.tiktok_timeout_seconds)
    client = TikTokClient(
        http,
        app_key=settings.tiktok_app_key,
        app_secret=settings.tiktok_app_secret.get_secret_value(),
        api_base_url=settings.tiktok_api_base_url,
        auth_base_url=settings.tiktok_auth_base_url,
        limiter=Limiter(settings.tiktok_app_rate, settings.tiktok_shop_rate),
        max_retries=settings.tiktok_max_throttle_retries,
        observe=observe_call,
    )

    async def refresh(refresh_token: str) -> TokenGrant:
        return await client.token_refresh(refresh_token)

    shops = ShopStore(db, key_ring(keys), refresh)
    client.use_tokens(shops)
    return Runtime(mongo, http, client, shops, SyncProgressStore(db), SeenNotificationsStore(db))


def create_app(settings: ConnectorSettings, keys: str | None = None) -> FastAPI:
    """The webhook receiver; with token keys also the OAuth routes and `GET /shops`."""
    log = KafkaNotificationLog(
        settings.kafka_bootstrap_servers, settings.topic_tiktok_notifications
    )
    keys = keys if keys is not None else settings.tiktok_token_keys.get_secret_value()
    runtime = build_runtime(settings, keys) if keys else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await log.start()
        try:
            yield
        finally:
            await log.stop()
            if runtime is not None:
                await runtime.close()

    app = FastAPI(title="orderlens tiktok-connector", lifespan=lifespan)
    app.include_router(webhook_router(settings, log))
    if runtime is not None:
        app.include_router(
            oauth_router(
                settings,
                authorizer=runtime.client,
                shops=runtime.shops,
                progress=runtime.progress,
                starter=BackfillStarter(runtime.progress, settings.backfill_window_days),
            )
        )
    return app


def _producer(settings: ConnectorSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        acks="all",
        enable_idempotence=True,
    )


async def run_notification_worker(settings: ConnectorSettings, keys: str) -> None:
    """The consumer half: notifications → Get Order Detail → orders.created."""
    from aiokafka import AIOKafkaConsumer

    from .entrypoints.consumers import consume_notifications
    from .service import sync_notifications

    runtime = build_runtime(settings, keys)
    producer = _producer(settings)
    consumer = AIOKafkaConsumer(
        settings.topic_tiktok_notifications,
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        group_id="orderlens-tiktok-connector",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    publisher = KafkaSnapshotPublisher(producer, settings.topic_orders_created)

    async def handle(batch: Sequence[Notification]) -> SyncResult:
        return await sync_notifications(
            batch,
            shops=runtime.shops,
            fetcher=runtime.client,
            seen=runtime.seen,
            publisher=publisher,
        )

    try:
        await consume_notifications(consumer, handle)
    finally:
        await consumer.stop()
        await producer.stop()
        await runtime.close()


async def run_sync_worker(settings: ConnectorSettings, keys: str) -> None:
    """Backfill and reconcile: every shop whose window is due is searched to its end (0096)."""
    runtime = build_runtime(settings, keys)
    producer = _producer(settings)
    await producer.start()
    publisher = KafkaSnapshotPublisher(producer, settings.topic_orders_created)
    try:
        while True:
            await sync_due_shops(
                progress=runtime.progress,
                shops=runtime.shops,
                searcher=runtime.client,
                publisher=publisher,
                interval=settings.reconcile_seconds,
                overlap=settings.reconcile_overlap_seconds,
            )
            await asyncio.sleep(settings.sync_poll_seconds)
    finally:
        await producer.stop()
        await runtime.close()


async def run_action_worker(settings: ConnectorSettings, keys: str) -> None:
    """Seller actions out: orders.status-changed (source seller) → TikTok Shop (0097)."""
    from aiokafka import AIOKafkaConsumer

    from orderlens.events import CloudEvent, StatusChanged

    from .actions import carry_action
    from .adapters.action_log import ActionLog
    from .adapters.snapshots import KafkaRefusalPublisher
    from .entrypoints.consumers import consume_status_changes

    runtime = build_runtime(settings, keys)
    producer = _producer(settings)
    consumer = AIOKafkaConsumer(
        settings.topic_status_changed,
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        group_id=settings.actions_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await consumer.start()
    actions = ActionLog(database(runtime.mongo, settings.mongodb_database))
    refusals = KafkaRefusalPublisher(producer, settings.topic_status_changed)

    async def handle(event: CloudEvent[StatusChanged]) -> str:
        result = await carry_action(
            event, shops=runtime.shops, client=runtime.client, actions=actions, refusals=refusals
        )
        ACTIONS.labels(result).inc()
        return result

    try:
        await consume_status_changes(consumer, handle)
    finally:
        await consumer.stop()
        await producer.stop()
        await runtime.close()
