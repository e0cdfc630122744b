"""HTTP routes of shop authorization and status: authorize link, callback, `GET /shops`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..adapters.metrics import refresh_shop_gauges
from ..adapters.shop_store import ShopStore
from ..adapters.sync_store import SyncProgressStore
from ..adapters.tiktok_client import TikTokError
from ..oauth import (
    Authorizer,
    OAuthError,
    SyncStarter,
    authorize_url,
    complete_authorization,
    make_state,
)
from ..settings import ConnectorSettings
from ..sync import shops_status


def _problem(status: int, title: str) -> Response:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status},
        status_code=status,
        media_type="application/problem+json",
    )


def oauth_router(
    settings: ConnectorSettings,
    *,
    authorizer: Authorizer,
    shops: ShopStore,
    progress: SyncProgressStore,
    starter: SyncStarter,
) -> APIRouter:
    router = APIRouter()
    secret = settings.tiktok_app_secret.get_secret_value()

    @router.get("/oauth/tiktok/authorize")
    async def authorize() -> Response:
        url = authorize_url(
            authorize_base=settings.tiktok_authorize_url,
            app_key=settings.tiktok_app_key,
            redirect_url=settings.oauth_redirect_url,
            state=make_state(secret),
        )
        return RedirectResponse(url, status_code=302)

    @router.get("/oauth/tiktok/callback")
    async def callback(
        code: str = Query(default="", max_length=512),
        state: str = Query(default="", max_length=256),
    ) -> Response:
        try:
            connected = await complete_authorization(
                code,
                state,
                secret=secret,
                state_ttl=settings.oauth_state_ttl_seconds,
                authorizer=authorizer,
                shops=shops,
                sync=starter,
            )
        except OAuthError as exc:
            return _problem(400, str(exc))
        except TikTokError as exc:
            # TikTok refused the code (expired, used twice): the seller retries the link.
            return _problem(400, f"code: refused by TikTok Shop ({exc.code})")
        return JSONResponse({"connected": connected})

    @router.get("/metrics")
    async def metrics() -> Response:
        refresh_shop_gauges(await shops.states(), await progress.all())
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @router.get("/shops")
    async def shop_list() -> dict[str, Any]:
        return {"shops": await shops_status(await shops.states(), await progress.all())}

    return router
