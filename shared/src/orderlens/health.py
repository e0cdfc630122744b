"""A tiny HTTP server for the probes and the metrics of a worker service (no web framework).

    GET /healthz  200 {"status": "ok"} while the process runs (liveness)
    GET /readyz   200 {"status": "ready", "checks": {...}} when every check passes, else 503
    GET /metrics  the Prometheus text format of the default registry

Usage::

    server = HealthServer(
        service="order-ingest",
        host=settings.http_host,
        port=settings.http_port,          # 0 picks a free port: read `server.port` after start
        checks={"mongodb": lambda: ping(client), "kafka": lambda: kafka_ready(broker)},
    )
    await server.start()
    ...
    await server.stop()

A check is an async callable answering True when its dependency is usable; it may also raise,
which counts as False. Each check gets `check_timeout` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from orderlens import metrics

log = logging.getLogger("orderlens.health")

Check = Callable[[], Awaitable[bool]]

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


async def kafka_ready(broker: KafkaBroker, within: float = 2.0) -> bool:
    """True when the broker's producer reaches the Kafka cluster."""
    return bool(await broker.ping(timeout=within))


class HealthServer:
    def __init__(
        self,
        *,
        service: str,
        host: str = "0.0.0.0",
        port: int = 8080,
        checks: Mapping[str, Check] | None = None,
        check_timeout: float = 3.0,
        registry: CollectorRegistry = REGISTRY,
    ) -> None:
        self.service = service
        self.host = host
        self._port = port
        self.checks = dict(checks or {})
        self.check_timeout = check_timeout
        self.registry = registry
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when constructed with port 0)."""
        if self._server is not None and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        log.info("health server listening", extra={"host": self.host, "port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def readiness(self) -> dict[str, bool]:
        names = list(self.checks)
        results = await asyncio.gather(*(self._run_check(self.checks[n]) for n in names))
        return dict(zip(names, results, strict=True))

    async def _run_check(self, check: Check) -> bool:
        try:
            return bool(await asyncio.wait_for(check(), self.check_timeout))
        except Exception:
            return False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started = time.monotonic()
        method, route, status = "?", "?", 500
        try:
            request_line = await asyncio.wait_for(reader.readline(), 10)
            parts = request_line.decode("latin-1").split()
            # Drain the headers: probes send no body.
            while True:
                line = await asyncio.wait_for(reader.readline(), 10)
                if line in (b"\r\n", b"\n", b""):
                    break
            if len(parts) < 2:
                return
            method, target = parts[0].upper(), parts[1].split("?", 1)[0]
            status, content_type, body, route = await self._respond(method, target)
            head = (
                f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode("latin-1")
            writer.write(head + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            metrics.HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()
            metrics.HTTP_DURATION.labels(self.service, method, route).observe(
                time.monotonic() - started
            )

    async def _respond(self, method: str, target: str) -> tuple[int, str, bytes, str]:
        if target not in ("/healthz", "/readyz", "/metrics"):
            return 404, "application/json", _json({"detail": "not found"}), "other"
        if method not in ("GET", "HEAD"):
            return 405, "application/json", _json({"detail": "method not allowed"}), target
        if target == "/healthz":
            return 200, "application/json", _json({"status": "ok"}), target
        if target == "/readyz":
            checks = await self.readiness()
            ready = all(checks.values())
            body = {"status": "ready" if ready else "not ready", "checks": checks}
            return (200 if ready else 503), "application/json", _json(body), target
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.registry), target


def _json(value: object) -> bytes:
    return json.dumps(value).encode()
