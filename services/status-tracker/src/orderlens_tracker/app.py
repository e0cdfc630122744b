"""Wiring of one tracker replica: MongoDB, Kafka, the carrier client, the poller, the probes."""

from __future__ import annotations

import contextlib
import logging
import uuid
from typing import Any

import httpx
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from orderlens.consumer import BatchConsumer
from orderlens.health import HealthServer, kafka_ready
from orderlens.kafka import make_broker
from orderlens.lifecycle import until_done
from orderlens.mongo import make_client, ping
from orderlens.ratelimit import TokenBucket
from orderlens_tracker import metrics
from orderlens_tracker.adapters import CarrierAdapter, build_adapter
from orderlens_tracker.adapters.breaker import BreakerState, CircuitBreaker
from orderlens_tracker.adapters.jobs import JobStore
from orderlens_tracker.adapters.leases import ShardLeases
from orderlens_tracker.adapters.publisher import StatusPublisher
from orderlens_tracker.adapters.transport import RetryPolicy, Transport
from orderlens_tracker.entrypoints.consumers import build_consumer
from orderlens_tracker.services.poller import Poller
from orderlens_tracker.settings import SERVICE, TrackerSettings

log = logging.getLogger("orderlens.tracker")


def make_http_client(settings: TrackerSettings) -> httpx.AsyncClient:
    """One pooled client for every carrier request, sized to the concurrency bound."""
    timeout = settings.carrier_timeout_seconds
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
        limits=httpx.Limits(
            max_connections=settings.carrier_concurrency,
            max_keepalive_connections=settings.carrier_concurrency,
        ),
        headers={"User-Agent": "orderlens-status-tracker"},
    )


def make_breaker(settings: TrackerSettings) -> CircuitBreaker:
    provider = settings.carrier_provider.value

    def report(state: BreakerState) -> None:
        metrics.BREAKER_STATE.labels(provider).set(int(state))
        log.info("circuit breaker %s", state.name.lower(), extra={"provider": provider})

    return CircuitBreaker(
        provider,
        failure_threshold=settings.breaker_failure_threshold,
        reset_seconds=settings.breaker_reset_seconds,
        on_change=report,
    )


class TrackerApp:
    """One replica. `start()` returns once it runs; `stop()` drains and releases its shards."""

    def __init__(self, settings: TrackerSettings) -> None:
        self.settings = settings
        self.replica_id = settings.replica_id or f"tracker-{uuid.uuid4().hex[:12]}"
        self._stopped = False
        self.mongo: AsyncMongoClient[dict[str, Any]] = make_client(
            settings.mongodb_uri, app_name="orderlens-status-tracker"
        )
        db = self.mongo[settings.mongodb_database]
        self.jobs = JobStore(db, settings.shards)
        self.broker: KafkaBroker = make_broker(
            settings.kafka_bootstrap_servers, client_id="orderlens-status-tracker"
        )
        self.consumer: BatchConsumer = build_consumer(settings, self.jobs)
        self.consumer.attach(self.broker)
        self.http = make_http_client(settings)
        self.breaker = make_breaker(settings)
        self.limiter = TokenBucket(settings.rate_limit(), settings.carrier_rate_burst)
        self.transport = Transport(
            settings.carrier_provider.value,
            self.http,
            limiter=self.limiter,
            breaker=self.breaker,
            retry=RetryPolicy(
                settings.carrier_max_attempts,
                settings.carrier_backoff_base_seconds,
                settings.carrier_backoff_cap_seconds,
            ),
            concurrency=settings.carrier_concurrency,
        )
        self.adapter: CarrierAdapter = build_adapter(settings, self.transport)
        self.leases = ShardLeases(
            db, self.replica_id, shards=settings.shards, lease_seconds=settings.lease_seconds
        )
        self.poller = Poller(
            settings,
            adapter=self.adapter,
            store=self.jobs,
            leases=self.leases,
            breaker=self.breaker,
            limiter=self.limiter,
            publish=StatusPublisher(self.broker, settings.topic_status_changed),
        )
        self.health = HealthServer(
            service=SERVICE,
            host=settings.http_host,
            port=settings.http_port,
            checks={"mongodb": lambda: ping(self.mongo), "kafka": lambda: kafka_ready(self.broker)},
        )

    async def start(self) -> None:
        await self.health.start()
        await until_done("create the tracking_jobs indexes", self.jobs.ensure_indexes)
        await until_done("connect to Kafka", self.broker.start)
        await self.poller.start()
        log.info(
            "status-tracker started",
            extra={
                "replica": self.replica_id,
                "provider": self.settings.carrier_provider.value,
                "rate_limit": self.settings.rate_limit(),
            },
        )

    async def stop(self, *, release: bool = True) -> None:
        """Drain the consumers, stop polling, give the shards back (`release=False` behaves as a
        crash for tests: the leases stay until they expire)."""
        if self._stopped:
            return
        self._stopped = True
        await self.consumer.drain()
        await self.poller.stop(release=release)
        with contextlib.suppress(Exception):
            await self.broker.stop()
        await self.http.aclose()
        await self.health.stop()
        await self.mongo.close()
