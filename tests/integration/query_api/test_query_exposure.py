"""What the query-api exposes besides /v1 (issue 17 #8, #11), served over real HTTP by uvicorn
with the service's own server configuration, on a real MongoDB-wire server.

The app is built from settings and served in-process; its lifespan reaches the session's
database. (An earlier attempt built the app on the default, unreachable `mongodb_uri`: the
lifespan's index creation then waits out server selection, 5 s, which is exactly
asgi-lifespan's default start-up timeout, so start-up "timed out".)"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request

from orderlens.waiting import wait_for
from orderlens_query.__main__ import server_config
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

NO_KAFKA = "127.0.0.1:1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def serving(
    mongodb_uri: str, probe: Callable[[FastAPI], None] | None = None, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = QueryApiSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=f"qx_{uuid.uuid4().hex[:10]}",
        kafka_bootstrap_servers=NO_KAFKA,
        log_json=False,
        http_host="127.0.0.1",
        http_port=_free_port(),
        **overrides,
    )
    app = create_app(settings)
    if probe is not None:
        probe(app)
    server = uvicorn.Server(server_config(settings, app))
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # a failed start-up is the test's failure, with its error
        return bool(server.started)

    try:
        await wait_for(started, within=60, what="query-api serving")
        base = f"http://127.0.0.1:{settings.http_port}"
        async with httpx.AsyncClient(base_url=base) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def test_docs_pages_are_never_served_and_api_docs_false_closes_the_document(
    mongodb_uri: str,
) -> None:
    async with serving(mongodb_uri) as client:
        assert (await client.get("/openapi.json")).status_code == 200
        # FastAPI's pages would load scripts from a CDN (decision 0078).
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/redoc")).status_code == 404
    async with serving(mongodb_uri, api_docs=False) as client:
        for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/healthz")).status_code == 200


async def test_metrics_need_the_metrics_token_when_one_is_set(mongodb_uri: str) -> None:
    async with serving(mongodb_uri) as client:
        open_metrics = await client.get("/metrics")
        assert open_metrics.status_code == 200
        assert "http_requests" in open_metrics.text or "python_info" in open_metrics.text
    token = "metrics-" + uuid.uuid4().hex
    async with serving(mongodb_uri, metrics_token=token) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
            denied = await client.get("/metrics", headers=headers)
            assert denied.status_code == 401, headers
            assert denied.headers["content-type"] == "application/problem+json"
            assert "python_info" not in denied.text
        allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200
        assert "python_info" in allowed.text


def _scheme_probe(app: FastAPI) -> None:
    """A route that shows what the app believes about the request's origin."""

    async def probe(request: Request) -> dict[str, str]:
        return {
            "scheme": request.url.scheme,
            "client": request.client.host if request.client else "",
        }

    app.add_api_route("/probe", probe)


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


async def test_forwarded_headers_are_ignored_unless_the_peer_is_a_trusted_proxy(
    mongodb_uri: str,
) -> None:
    # The peer is 127.0.0.1: uvicorn's own default would trust it, the service's must not.
    for untrusted in ({}, {"trusted_proxies": "10.0.0.7"}):
        async with serving(mongodb_uri, _scheme_probe, **untrusted) as client:
            seen = (await client.get("/probe", headers=FORWARDED)).json()
            assert seen == {"scheme": "http", "client": "127.0.0.1"}, untrusted
    async with serving(mongodb_uri, _scheme_probe, trusted_proxies="127.0.0.1") as client:
        seen = (await client.get("/probe", headers=FORWARDED)).json()
        assert seen == {"scheme": "https", "client": "203.0.113.9"}
