"""Wiring: the notifier process from its settings (used by `main` and by the tests)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from orderlens.consumer import BatchConsumer
from orderlens.health import HealthServer, kafka_ready
from orderlens.kafka import make_broker
from orderlens.logging import configure_logging
from orderlens.mongo import Document, make_client, ping
from orderlens_notifier.adapters.sender import HttpSender
from orderlens_notifier.adapters.store import MongoStore
from orderlens_notifier.entrypoints.consumers import events_consumer
from orderlens_notifier.service import RetryPolicy, replay
from orderlens_notifier.settings import SERVICE, NotifierSettings
from orderlens_notifier.worker import Dispatcher

log = logging.getLogger("orderlens.notifier")


@dataclass
class Notifier:
    settings: NotifierSettings
    client: AsyncMongoClient[Document]
    broker: KafkaBroker
    store: MongoStore
    sender: HttpSender
    dispatcher: Dispatcher
    consumer: BatchConsumer
    health: HealthServer
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.ensure_indexes()
        await self.health.start()
        # Queued deliveries go out whether or not Kafka is reachable.
        self._task = asyncio.create_task(self.dispatcher.run_forever())
        await self.broker.start()
        log.info("notifier started")

    async def stop(self) -> None:
        await self.consumer.drain()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.dispatcher.stop()
        await self.broker.stop()
        await self.sender.close()
        await self.health.stop()
        await self.client.close()


def policy_of(settings: NotifierSettings) -> RetryPolicy:
    return RetryPolicy(
        base=timedelta(seconds=settings.webhook_retry_base_seconds),
        cap=timedelta(seconds=settings.webhook_retry_cap_seconds),
        max_age=timedelta(seconds=settings.webhook_max_age_seconds),
    )


def build(settings: NotifierSettings) -> Notifier:
    client = make_client(settings.mongodb_uri, app_name="orderlens-notifier", timeout_ms=10_000)
    store = MongoStore(client.get_database(settings.mongodb_database))
    sender = HttpSender(settings.webhook_timeout_seconds)
    dispatcher = Dispatcher(
        store, sender, policy_of(settings), poll_seconds=settings.webhook_poll_seconds
    )
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="orderlens-notifier")
    consumer = events_consumer(settings, store, dispatcher)
    consumer.attach(broker)
    health = HealthServer(
        service=SERVICE,
        host=settings.http_host,
        port=settings.http_port,
        checks={"mongodb": lambda: ping(client), "kafka": lambda: kafka_ready(broker)},
    )
    return Notifier(settings, client, broker, store, sender, dispatcher, consumer, health)


async def serve(settings: NotifierSettings) -> None:
    notifier = build(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await notifier.start()
    try:
        await stop.wait()
    finally:
        await notifier.stop()


async def replay_command(settings: NotifierSettings, subscription_id: str) -> int:
    client = make_client(settings.mongodb_uri, app_name="orderlens-notifier-replay")
    try:
        store = MongoStore(client.get_database(settings.mongodb_database))
        return await replay(store, subscription_id, datetime.now(UTC))
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="orderlens-notifier")
    commands = parser.add_subparsers(dest="command")
    again = commands.add_parser("replay", help="deliver a subscription's parked events again")
    again.add_argument("subscription_id")
    args = parser.parse_args(argv)
    settings = NotifierSettings()
    configure_logging(SERVICE, settings.log_level, json_lines=settings.log_json)
    if args.command == "replay":
        count = asyncio.run(replay_command(settings, args.subscription_id))
        print(f"{count} parked deliveries queued again")
        return
    asyncio.run(serve(settings))
