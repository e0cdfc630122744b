"""Wiring: the exporter process from its settings (used by `main` and by the tests)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from orderlens.consumer import BatchConsumer
from orderlens.filestore import LocalFileStore
from orderlens.health import HealthServer, kafka_ready
from orderlens.kafka import make_broker
from orderlens.lifecycle import cancel_and_wait, until_done
from orderlens.mongo import Document, make_client, ping
from orderlens_exporter.adapters.orders_source import ORDERS_COLLECTION, MongoOrderSource
from orderlens_exporter.adapters.publisher import CompletionPublisher
from orderlens_exporter.adapters.repository import ExportRepository
from orderlens_exporter.adapters.slots import ShopSlots
from orderlens_exporter.entrypoints.consumers import requests_consumer
from orderlens_exporter.entrypoints.worker import Worker
from orderlens_exporter.service import ExportConfig, ExportService
from orderlens_exporter.settings import SERVICE, ExporterSettings

log = logging.getLogger("orderlens.exporter")


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class Exporter:
    settings: ExporterSettings
    client: AsyncMongoClient[Document]
    broker: KafkaBroker
    service: ExportService
    worker: Worker
    consumer: BatchConsumer
    health: HealthServer
    _worker_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.health.start()
        await until_done("create the export indexes", self.service.repo.ensure_indexes)
        await until_done("create the export slot indexes", self.service.slots.ensure_indexes)
        # The records are the jobs: the worker runs them whether or not Kafka is reachable yet
        # (joining the consumer group can take a session timeout after a crash).
        self._worker_task = asyncio.create_task(self.worker.run_forever())
        await self.broker.start()
        log.info("exporter started", extra={"owner": self.service.config.owner})

    async def stop(self) -> None:
        await self.consumer.drain()
        await self.worker.stop()
        if self._worker_task is not None:
            await cancel_and_wait(self._worker_task)
        await self.broker.stop()
        await self.health.stop()
        await self.client.close()


def build(settings: ExporterSettings, *, owner: str | None = None) -> Exporter:
    # A batch worker can wait longer on a busy server than a request can (socket: 60 s).
    client = make_client(settings.mongodb_uri, app_name="orderlens-exporter", timeout_ms=10_000)
    db = client.get_database(settings.mongodb_database)
    lease = timedelta(seconds=settings.export_lease_seconds)
    broker = make_broker(settings.kafka_bootstrap_servers, client_id="orderlens-exporter")
    service = ExportService(
        repo=ExportRepository(db),
        slots=ShopSlots(db, per_shop=settings.export_max_running_per_shop, grace=lease),
        orders=MongoOrderSource(
            db[ORDERS_COLLECTION],
            batch_size=settings.export_batch_size,
            sort_by_id=settings.export_sort_by_id,
        ),
        store=LocalFileStore(settings.export_dir),
        publish=CompletionPublisher(broker, settings.topic_export_completed),
        config=ExportConfig(
            owner=owner or worker_id(),
            lease=lease,
            progress_interval=settings.export_progress_seconds,
            retention=timedelta(hours=settings.export_retention_hours),
            max_attempts=settings.export_max_attempts,
            retry_delay=timedelta(seconds=settings.export_retry_delay_seconds),
            rows_per_sheet=settings.export_rows_per_sheet,
        ),
    )
    worker = Worker(
        service,
        capacity=settings.export_workers,
        poll_seconds=settings.export_poll_seconds,
        sweep_seconds=settings.export_sweep_seconds,
    )
    consumer = requests_consumer(settings, service, worker.wake.set)
    consumer.attach(broker)
    health = HealthServer(
        service=SERVICE,
        host=settings.http_host,
        port=settings.http_port,
        checks={"mongodb": lambda: ping(client), "kafka": lambda: kafka_ready(broker)},
    )
    return Exporter(settings, client, broker, service, worker, consumer, health)
