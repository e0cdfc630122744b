"""`/healthz`, `/readyz` (MongoDB and Kafka answer) and `/metrics` on the dispatcher's port."""

from __future__ import annotations

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from orderlens.health import HealthServer, kafka_ready
from orderlens.mongo import Document, ping

from ..settings import SERVICE, DispatcherSettings


def health_server(
    settings: DispatcherSettings, client: AsyncMongoClient[Document], broker: KafkaBroker
) -> HealthServer:
    return HealthServer(
        service=SERVICE,
        host=settings.http_host,
        port=settings.http_port,
        checks={"mongodb": lambda: ping(client), "kafka": lambda: kafka_ready(broker)},
    )
