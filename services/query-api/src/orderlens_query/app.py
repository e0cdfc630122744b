"""The query-api FastAPI application: routes, problem handlers, metrics, and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from orderlens.capabilities import ServerCapabilities
from orderlens.http_metrics import HttpMetrics
from orderlens.kafka import make_broker
from orderlens.mongo import database, make_client
from orderlens_query.adapters.idempotency import ensure_indexes
from orderlens_query.adapters.webhook_store import WebhookStore
from orderlens_query.entrypoints.http import (
    actions,
    buyer,
    buyer_links,
    exports,
    health,
    inbox,
    orders,
    preferences,
    stats,
    stream,
    webhook_subscriptions,
)
from orderlens_query.limits import RequestLimits
from orderlens_query.problems import install_problem_handlers, problem_responses
from orderlens_query.runtime import SERVICE, Runtime, make_verifier
from orderlens_query.settings import QueryApiSettings

log = logging.getLogger(__name__)
BROKER_RETRY_SECONDS = 5.0

DESCRIPTION = """
Find, open and act on TikTok Shop orders; sales over any date range.

Authenticate with `Authorization: Bearer <JWT>` (claims `sub`, `role`, `shops`, `exp`);
locally, `uv run orderlens token --role admin --shop <shop id>` mints one. Every answer is
limited to the token's shops. Errors are RFC 9457 `application/problem+json`.
"""


async def _reachable(bootstrap_servers: str) -> bool:
    """Whether any bootstrap server accepts a TCP connection (so the producer can start)."""
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 2.0)
        except (OSError, ValueError, TimeoutError):
            continue
        writer.close()
        return True
    return False


async def _connect_broker(runtime: Runtime) -> None:
    """Connect in the background until it works: reads must not wait for Kafka."""
    while True:
        if not await _reachable(runtime.settings.kafka_bootstrap_servers):
            log.warning("Kafka not reachable yet; retrying")
            await asyncio.sleep(BROKER_RETRY_SECONDS)
            continue
        try:
            await runtime.broker.start()
        except Exception as exc:
            log.warning("Kafka not reachable yet (%s); retrying", exc)
            with contextlib.suppress(Exception):
                await runtime.broker.stop()
            await asyncio.sleep(BROKER_RETRY_SECONDS)
        else:
            runtime.broker_connected = True
            return


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: QueryApiSettings = app.state.settings
    client = make_client(
        settings.mongodb_uri,
        app_name=SERVICE,
        # The socket must outlive the slowest query allowed, which maxTimeMS ends first.
        socket_timeout_ms=max(settings.query_max_time_ms + 5_000, 30_000),
    )
    runtime = Runtime(
        settings=settings,
        client=client,
        db=database(client, settings.mongodb_database),
        broker=make_broker(settings.kafka_bootstrap_servers, client_id=SERVICE),
        verifier=make_verifier(settings),
    )
    app.state.runtime = runtime
    try:
        await ensure_indexes(runtime.db, timedelta(hours=settings.idempotency_ttl_hours))
    except Exception as exc:  # the database may come up later; reads answer 503 meanwhile
        log.warning("could not create the idempotency index: %s", exc)
    try:
        runtime.know(await ServerCapabilities.read(runtime.db))
    except Exception as exc:  # as above: the list reads stay plain until a restart
        log.warning("could not read the server's capabilities: %s", exc)
    try:
        await WebhookStore(runtime.db).ensure_indexes()
    except Exception as exc:
        log.warning("could not create the webhook subscription index: %s", exc)
    connecting = asyncio.create_task(_connect_broker(runtime))
    try:
        yield
    finally:
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connecting
        await runtime.broker.stop()
        await client.close()


_BODY_METHODS = ("post", "put", "patch")


def _as_answered(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The OpenAPI document of what the API answers: without FastAPI's automatic 422 (validation
    errors are answered 400 with a problem document, decision 0047), and with the 413 that the
    size-cap middleware (`limits.py`) answers to every request with a body, documented once here
    rather than on each route (schemathesis found a route that lacked it)."""
    default = app.openapi
    too_large = {k: v for k, v in problem_responses(413)[413].items() if k != "model"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = default()
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                answer = operation.get("responses", {}).get("422", {})
                if "HTTPValidationError" in str(answer):
                    del operation["responses"]["422"]
                if method in _BODY_METHODS:
                    operation.setdefault("responses", {}).setdefault("413", too_large)
        components = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" not in str(schema.get("paths")):
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    return openapi


def create_app(settings: QueryApiSettings | None = None) -> FastAPI:
    settings = settings or QueryApiSettings()
    app = FastAPI(
        title="orderlens query-api",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
        # A trailing slash is a 404, not a redirect built from the Host header (issue 17 #8).
        redirect_slashes=False,
        # FastAPI's Swagger UI and ReDoc pages load their scripts from a third-party CDN:
        # never served (decision 0078). The document itself is served unless turned off.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.api_docs else None,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    app.add_middleware(HttpMetrics, service=SERVICE)
    app.add_middleware(RequestLimits, public_paths=buyer_links.PUBLIC_PATHS)
    # Before orders: `/v1/orders/{order_id}` would take `stream` for an order id.
    app.include_router(stream.router)
    app.include_router(orders.router)
    app.include_router(actions.router)
    app.include_router(stats.router)
    app.include_router(exports.router)
    app.include_router(health.router)
    app.include_router(buyer.router)
    app.include_router(buyer_links.router)
    app.include_router(inbox.router)
    app.include_router(preferences.router)
    app.include_router(webhook_subscriptions.router)
    app.openapi = _as_answered(app)  # type: ignore[method-assign]
    return app
