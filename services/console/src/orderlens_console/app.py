"""The console application: routes, templates, static files, error pages and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from orderlens.http_metrics import HttpMetrics
from orderlens_console import formatting, service
from orderlens_console.adapters.oidc import OidcProvider
from orderlens_console.adapters.query_api import ApiError, QueryApi
from orderlens_console.assets import VersionedStatic
from orderlens_console.entrypoints import buyer, http, inbox, webhooks
from orderlens_console.runtime import Runtime
from orderlens_console.sessions import SessionCodec
from orderlens_console.settings import ConsoleSettings
from orderlens_console.signing import ApiSigner

PACKAGE = Path(__file__).parent


def create_app(settings: ConsoleSettings | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    oidc = (
        OidcProvider(
            settings.oidc_issuer,
            settings.oidc_client_id or "",
            settings.oidc_client_secret,
            settings.oidc_scopes,
        )
        if settings.oidc_issuer
        else None
    )
    templates = Jinja2Templates(directory=PACKAGE / "templates")
    templates.env.filters.update(
        localtime=formatting.localtime,
        iso=formatting.iso,
        seller_status=formatting.seller_status,
        humanize=formatting.humanize,
    )
    static = VersionedStatic(PACKAGE / "static")
    templates.env.globals["static_url"] = static.url
    runtime = Runtime(
        settings=settings,
        codec=SessionCodec(settings.session_secret, settings.session_max_age_seconds),
        templates=templates,
        api=QueryApi(settings.query_api_url),
        oidc=oidc,
        signer=ApiSigner(
            private_key_pem=(
                settings.api_signing_key.get_secret_value() if settings.api_signing_key else None
            ),
            previous_public_key_pem=settings.api_previous_public_key,
            issuer=settings.token_issuer,
            audience=settings.api_token_audience,
        ),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await runtime.api.aclose()
        if runtime.oidc is not None:
            await runtime.oidc.aclose()

    app = FastAPI(title="orderlens console", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.include_router(http.router)
    buyer.install(app)
    app.include_router(inbox.router)
    app.include_router(webhooks.router)
    app.mount("/static", static, name="static")
    app.add_middleware(HttpMetrics, service="console")

    @app.exception_handler(http.NotSignedIn)
    async def not_signed_in(request: Request, exc: http.NotSignedIn) -> Response:
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(http.CsrfRefused)
    async def csrf_refused(request: Request, exc: http.CsrfRefused) -> Response:
        return http.render(
            request, "error.html", status_code=403, message="missing or wrong CSRF token"
        )

    # Every page answers a refusal or a query-api problem alike (docs/decisions/0205), so the
    # routes only call their service; a route with its own answer (an action's form, the
    # analysis page, the inbox badge) still catches the error itself.
    @app.exception_handler(service.Forbidden)
    async def forbidden(request: Request, exc: service.Forbidden) -> Response:
        return http.render(request, "error.html", status_code=403, message=str(exc))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if request.url.path.startswith("/buyer/"):
            return buyer.api_error(request, exc)
        return http.render(request, "error.html", status_code=exc.status, message=exc.detail)

    @app.middleware("http")
    async def headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", "default-src 'self'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
