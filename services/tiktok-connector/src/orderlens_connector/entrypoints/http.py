"""HTTP routes: `POST /webhooks/tiktok`, `/healthz`, `/readyz`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..adapters.metrics import WEBHOOKS
from ..service import NotificationLog, receive_webhook
from ..settings import ConnectorSettings


def webhook_router(settings: ConnectorSettings, log: NotificationLog) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/tiktok")
    async def tiktok_webhook(request: Request) -> Response:
        # The raw bytes, unparsed: the signature covers them exactly (docs/decisions/0090).
        WEBHOOKS.labels("received").inc()
        outcome = await receive_webhook(
            await request.body(),
            request.headers.get("authorization"),
            app_key=settings.tiktok_app_key,
            app_secret=settings.tiktok_app_secret.get_secret_value(),
            max_bytes=settings.webhook_max_bytes,
            log=log,
        )
        WEBHOOKS.labels("verified" if outcome.status == 200 else "rejected").inc()
        if outcome.status == 200:
            return JSONResponse({"code": 0, "message": "success"})
        return JSONResponse(
            {"type": "about:blank", "title": outcome.reason, "status": outcome.status},
            status_code=outcome.status,
            media_type="application/problem+json",
        )

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> Response:
        ready = await log.ready()
        return JSONResponse(
            {"status": "ready" if ready else "not ready"}, status_code=200 if ready else 503
        )

    return router
