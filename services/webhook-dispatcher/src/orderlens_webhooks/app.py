"""Wiring: settings → adapters (MongoDB, Kafka, HTTP) → use cases → entrypoints."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens.capabilities import ServerCapabilities
from orderlens.consumer import BatchConsumer
from orderlens.health import HealthServer
from orderlens.kafka import make_broker
from orderlens.lifecycle import cancel_and_wait, run_until_signalled
from orderlens.mongo import Document, database, make_client
from orderlens.webhooks import SecretBox

from .adapters.deliveries import DeliveryStore
from .adapters.leases import SubscriptionLeases
from .adapters.sender import HttpSender
from .adapters.subscriptions import SubscriptionReader
from .dispatcher import DispatchConfig, Dispatcher
from .entrypoints.consumers import events_consumer
from .entrypoints.http import health_server
from .settings import SERVICE, DispatcherSettings

log = logging.getLogger("orderlens.webhooks")
KEEP_DELIVERED = timedelta(days=7)
START_RETRY_SECONDS = 2.0


def replica_name(settings: DispatcherSettings) -> str:
    return settings.replica_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class WebhookDispatcher:
    settings: DispatcherSettings
    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    http: httpx.AsyncClient
    broker: KafkaBroker
    deliveries: DeliveryStore
    dispatcher: Dispatcher
    consumer: BatchConsumer
    health: HealthServer
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        await self.health.start()
        # MongoDB may come up after us: wait for it (SIGTERM still stops us, decision 0076).
        while True:
            try:
                await self.deliveries.ensure_indexes()
                capabilities = await ServerCapabilities.read(self.db)
                break
            except Exception as exc:
                log.warning("MongoDB not ready (%s); retrying", exc)
                await asyncio.sleep(START_RETRY_SECONDS)
        if not capabilities.atomic_conditional_updates:
            log.warning(
                "this MongoDB-wire server's conditional updates are not atomic: two replicas "
                "could work one subscription at once; run a single replica (decision 0170)"
            )
        self._tasks.append(asyncio.create_task(self.dispatcher.run_forever()))
        await self.broker.start()
        log.info("webhook dispatcher started", extra={"replica": self.dispatcher.leases.owner})

    async def stop(self) -> None:
        await self.consumer.drain()
        await self.dispatcher.stop()
        await cancel_and_wait(*self._tasks)
        await self.broker.stop()
        await self.health.stop()
        await self.http.aclose()
        await self.client.close()


def build(settings: DispatcherSettings, *, replica: str | None = None) -> WebhookDispatcher:
    client = make_client(settings.mongodb_uri, app_name=f"orderlens-{SERVICE}")
    db = database(client, settings.mongodb_database)
    http = httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        headers={"user-agent": "orderlens-webhooks/1"},
    )
    subscriptions = SubscriptionReader(db)
    deliveries = DeliveryStore(
        db,
        keep_delivered=KEEP_DELIVERED,
        creation_wait=timedelta(seconds=settings.webhook_creation_wait_seconds),
    )
    dispatcher = Dispatcher(
        subscriptions=subscriptions,
        deliveries=deliveries,
        leases=SubscriptionLeases(
            db, replica or replica_name(settings), lease_seconds=settings.webhook_lease_seconds
        ),
        sender=HttpSender(http, allow_internal=settings.webhook_allow_internal),
        box=SecretBox(settings.webhook_secret_keys.get_secret_value()),
        config=DispatchConfig(
            schedule=settings.retry_schedule(),
            concurrency=settings.webhook_concurrency,
            scan_limit=settings.webhook_scan_limit,
            poll_seconds=settings.webhook_poll_seconds,
            lease_seconds=settings.webhook_lease_seconds,
        ),
    )
    broker = make_broker(settings.kafka_bootstrap_servers, client_id=f"orderlens-{SERVICE}")
    consumer = events_consumer(settings, subscriptions, deliveries, dispatcher.wake)
    consumer.attach(broker)
    return WebhookDispatcher(
        settings,
        client,
        db,
        http,
        broker,
        deliveries,
        dispatcher,
        consumer,
        health_server(settings, client, broker),
    )


async def serve(settings: DispatcherSettings) -> None:
    service = build(settings)
    await run_until_signalled(service.start, service.stop)
