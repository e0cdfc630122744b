"""Wiring: settings → adapters (MongoDB, Kafka, the mail outbox) → use cases → entrypoints."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from orderlens.consumer import BatchConsumer
from orderlens.health import HealthServer, kafka_ready
from orderlens.kafka import make_broker
from orderlens.lifecycle import cancel_and_wait, run_until_signalled
from orderlens.logging import configure_logging
from orderlens.mail_outbox import FileOutbox
from orderlens.mongo import Document, database, make_client, ping

from .adapters.inbox_store import InboxStore, PreferencesReader
from .adapters.mail_log import Contacts, MailLog
from .adapters.orders_reader import OrdersReader
from .entrypoints.consumers import export_completions_consumer, order_events_consumer
from .service import Notifier, sweep_stalled
from .settings import SERVICE, NotifierSettings

log = logging.getLogger("orderlens.notifier")


@dataclass
class NotifierApp:
    settings: NotifierSettings
    client: AsyncMongoClient[Document]
    broker: KafkaBroker
    notifier: Notifier
    orders: OrdersReader
    consumers: list[BatchConsumer]
    health: HealthServer
    _sweeper: asyncio.Task[None] | None = field(default=None)

    @property
    def port(self) -> int:
        return self.health.port

    async def start(self) -> None:
        await self.health.start()
        await self._ensure_indexes()
        await self.broker.start()
        self._sweeper = asyncio.create_task(self._sweep_forever())
        log.info("notifier started")

    async def _ensure_indexes(self) -> None:
        """Retry until MongoDB answers: a notifier started before its database waits for it
        (and a SIGTERM meanwhile still stops it, orderlens.lifecycle)."""
        db = database(self.client, self.settings.mongodb_database)
        delay = 0.5
        while True:
            try:
                await InboxStore(db).ensure_indexes()
                await PreferencesReader(db).ensure_indexes()
                await MailLog(db).ensure_indexes()
                return
            except Exception as exc:
                log.warning("MongoDB not reachable at start-up (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def stop(self) -> None:
        for consumer in self.consumers:
            await consumer.drain()
        if self._sweeper is not None:
            await cancel_and_wait(self._sweeper)
        await self.broker.stop()
        await self.health.stop()
        await self.client.close()

    async def _sweep_forever(self) -> None:
        settings = self.settings
        while True:
            try:
                await sweep_stalled(
                    self.notifier,
                    self.orders,
                    hours=settings.stalled_hours,
                    now=datetime.now(UTC),
                    limit=settings.stalled_sweep_limit,
                )
            except Exception:
                # MongoDB away: the next sweep finds the same parcels (items are keyed).
                log.exception("stalled-parcel sweep failed; trying again later")
            await asyncio.sleep(settings.stalled_sweep_seconds)


def build(settings: NotifierSettings) -> NotifierApp:
    client = make_client(settings.mongodb_uri, app_name=f"orderlens-{SERVICE}")
    db = database(client, settings.mongodb_database)
    broker = make_broker(settings.kafka_bootstrap_servers, client_id=f"orderlens-{SERVICE}")
    notifier = Notifier(
        inbox=InboxStore(db),
        preferences=PreferencesReader(db),
        contacts=Contacts(db),
        mails=MailLog(db),
        outbox=FileOutbox(settings.mail_outbox_dir, settings.mail_from),
        buyer_pages_url=settings.buyer_pages_url,
        new_order_within=timedelta(hours=settings.new_order_within_hours),
    )
    orders = OrdersReader(db)
    consumers = [
        order_events_consumer(settings, notifier),
        export_completions_consumer(settings, notifier, orders),
    ]
    for consumer in consumers:
        consumer.attach(broker)
    health = HealthServer(
        service=SERVICE,
        host=settings.http_host,
        port=settings.http_port,
        checks={"mongodb": lambda: ping(client), "kafka": lambda: kafka_ready(broker)},
    )
    return NotifierApp(settings, client, broker, notifier, orders, consumers, health)


async def serve(settings: NotifierSettings) -> None:
    app = build(settings)
    await run_until_signalled(app.start, app.stop)


def main() -> None:
    settings = NotifierSettings()
    configure_logging(SERVICE, settings.log_level, json_lines=settings.log_json)
    asyncio.run(serve(settings))
