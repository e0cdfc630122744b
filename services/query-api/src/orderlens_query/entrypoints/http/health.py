"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from orderlens.constant_time import same_secret
from orderlens.mongo import ping
from orderlens_query.auth import AppRuntime
from orderlens_query.models.health import Health, Readiness
from orderlens_query.problems import unauthorized

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Ready: MongoDB and Kafka reachable",
    responses={503: {"model": Readiness, "description": "A dependency is unreachable."}},
)
async def readyz(runtime: AppRuntime) -> Response:
    mongo_ok, kafka_ok = await asyncio.gather(ping(runtime.client), _kafka_ok(runtime))
    ready = mongo_ok and kafka_ok
    body = Readiness(status="ready" if ready else "not ready", mongodb=mongo_ok, kafka=kafka_ok)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


async def _kafka_ok(runtime: AppRuntime) -> bool:
    if not runtime.broker_connected:
        return False
    try:
        return await runtime.broker.ping(timeout=2.0)
    except Exception:  # readiness probe: any failure means "not ready"
        return False


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}}
    },
)
async def metrics(runtime: AppRuntime, request: Request) -> Response:
    token = runtime.settings.metrics_token
    if token:
        # Behind a token when configured (issue 17 #11): metrics name routes, shops' load.
        given = request.headers.get("authorization", "")
        if not same_secret(given, f"Bearer {token}"):
            raise unauthorized("a metrics token is required")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
