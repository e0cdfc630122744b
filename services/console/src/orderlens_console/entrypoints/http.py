"""The console's pages: each route turns a request into one service call and renders it."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from orderlens.constant_time import same_secret
from orderlens.roles import Action
from orderlens_console import service
from orderlens_console.adapters.oidc import Flow, OidcError, new_flow
from orderlens_console.adapters.query_api import ApiError
from orderlens_console.formatting import ZONE_COOKIE, ZONE_NAMES, valid_zone, view_zone
from orderlens_console.runtime import Runtime
from orderlens_console.sessions import FLOW_COOKIE, SESSION_COOKIE, Session, csrf_ok

router = APIRouter()
SIGNIN_CSRF_COOKIE = "orderlens_signin_csrf"


class NotSignedIn(Exception):
    pass


class CsrfRefused(Exception):
    pass


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def current_session(request: Request) -> Session:
    session = runtime_of(request).codec.loads(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotSignedIn
    return session


SignedIn = Annotated[Session, Depends(current_session)]


async def checked_session(request: Request, session: SignedIn) -> Session:
    """A session whose CSRF token the state-changing request echoes (form field or header)."""
    presented = request.headers.get("x-csrf-token")
    if presented is None:
        form = await request.form()
        value = form.get("csrf_token")
        presented = value if isinstance(value, str) else None
    if not csrf_ok(session, presented):
        raise CsrfRefused
    return session


CsrfChecked = Annotated[Session, Depends(checked_session)]


def zone_of(request: Request) -> str:
    """The zone of this view: the URL's `tz`, else the user's chosen zone, else the shop's."""
    return view_zone(
        request.query_params.get("tz"),
        request.cookies.get(ZONE_COOKIE),
        runtime_of(request).settings.time_zone,
    )


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    runtime = runtime_of(request)
    context.setdefault("zone", zone_of(request))
    # Where the zone form returns to: this page, without the URL's own zone (which would win).
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in {"tz", "cursor"}]
    context.setdefault("here", request.url.path + ("?" + urlencode(kept) if kept else ""))
    session = runtime.codec.loads(request.cookies.get(SESSION_COOKIE))
    caps = service.Capabilities.of(session.role) if session else None
    order = context.get("order")
    if caps is not None and isinstance(order, dict):
        caps = caps.for_order(order)
    return runtime.templates.TemplateResponse(
        request,
        template,
        {"session": session, "caps": caps, **context},
        status_code=status_code,
    )


def _set_session(runtime: Runtime, response: Response, session: Session) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        runtime.codec.dumps(session),
        max_age=runtime.settings.session_max_age_seconds,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
        path="/",
    )


@router.get("/", include_in_schema=False)
async def home() -> Response:
    return RedirectResponse("/orders", status_code=303)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    # Every page needs query-api, so a console that cannot reach it takes no traffic
    # (docs/decisions/0104).
    ready = await runtime_of(request).api.reachable()
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": {"query-api": ready}},
        status_code=200 if ready else 503,
    )


@router.get("/.well-known/jwks.json", include_in_schema=False)
async def jwks(request: Request) -> Response:
    # The public keys of the console's query-api tokens; query-api fetches them (decision 0150).
    return JSONResponse(
        runtime_of(request).signer.jwks(), headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/time-zones.json", include_in_schema=False)
async def time_zones() -> Response:
    # The zone pickers' suggestions, asked on first focus (static/zones.js, decision 0201).
    return JSONResponse(list(ZONE_NAMES), headers={"Cache-Control": "public, max-age=86400"})


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/signin", response_class=HTMLResponse)
async def sign_in_page(request: Request) -> Response:
    settings = runtime_of(request).settings
    # Before sign-in there is no session: a double-submit cookie guards the dev sign-in form.
    token = request.cookies.get(SIGNIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "signin.html",
        demo_users=service.DEMO_USERS if settings.dev_sign_in else (),
        oidc=runtime_of(request).oidc is not None,
        signin_csrf=token,
    )
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/signin",
    )
    return response


@router.post("/signin/dev")
async def sign_in_dev(
    request: Request, sub: Annotated[str, Form()], csrf_token: Annotated[str, Form()]
) -> Response:
    runtime = runtime_of(request)
    cookie = request.cookies.get(SIGNIN_CSRF_COOKIE)
    if not cookie or not same_secret(csrf_token, cookie):
        raise CsrfRefused
    try:
        session = service.dev_sign_in(runtime.settings, sub)
    except service.SignInRefused as exc:
        return render(request, "error.html", status_code=403, message=str(exc))
    response = RedirectResponse("/orders", status_code=303)
    _set_session(runtime, response, session)
    return response


@router.get("/signin/oidc")
async def sign_in_oidc(request: Request) -> Response:
    runtime = runtime_of(request)
    if runtime.oidc is None:
        return render(request, "error.html", status_code=404, message="OIDC is not configured")
    flow = new_flow()
    url = await runtime.oidc.authorization_url(flow, runtime.redirect_uri)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        FLOW_COOKIE,
        runtime.codec.dumps_flow(asdict(flow)),
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
        path="/auth",
    )
    return response


@router.get("/auth/callback")
async def oidc_callback(request: Request, code: str = "", state: str = "") -> Response:
    runtime = runtime_of(request)
    stored = runtime.codec.loads_flow(request.cookies.get(FLOW_COOKIE))
    if runtime.oidc is None or stored is None or not code or stored.get("state") != state:
        return render(request, "error.html", status_code=400, message="sign-in flow not recognised")
    try:
        claims = await runtime.oidc.exchange(code, Flow(**stored), runtime.redirect_uri)
        session = service.session_from_claims(runtime.settings, claims)
    except (OidcError, service.SignInRefused) as exc:
        return render(request, "error.html", status_code=403, message=str(exc))
    response = RedirectResponse("/orders", status_code=303)
    response.delete_cookie(FLOW_COOKIE, path="/auth")
    _set_session(runtime, response, session)
    return response


@router.post("/signout")
async def sign_out(session: CsrfChecked) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/preferences/time-zone")
async def choose_time_zone(request: Request, session: CsrfChecked) -> Response:
    """The user's own zone for times and dates (a preference cookie; the URL's `tz` wins)."""
    form = await request.form()
    raw, back = form.get("tz"), form.get("next")
    zone = valid_zone(raw if isinstance(raw, str) else None)
    if zone is None:
        return render(request, "error.html", status_code=400, message="tz: unknown time zone")
    target = back if isinstance(back, str) and back.startswith("/") else "/orders"
    if target.startswith("//") or "\\" in target:
        target = "/orders"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        ZONE_COOKIE,
        zone,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=runtime_of(request).settings.secure_cookies,
        path="/",
    )
    return response


@router.get("/orders", response_class=HTMLResponse)
async def orders(request: Request, session: SignedIn) -> Response:
    runtime = runtime_of(request)
    pairs = list(request.query_params.multi_items())
    zone = zone_of(request)
    page = await service.orders_page(runtime.api, runtime.signer.mint(session), pairs, zone)
    current = request.query_params
    base = [(k, v) for k, v in pairs if k not in {"cursor", "view"} and v]
    tab_links = {t["view"]: "/orders?" + urlencode([*base, ("view", t["view"])]) for t in page.tabs}
    sort_base = [(k, v) for k, v in pairs if k not in {"cursor", "sort"} and v]
    sort_links = {
        key: "/orders?" + urlencode([*sort_base, ("sort", key)])
        for key in ("created_at", "-created_at", "total", "-total")
    }
    next_link = (
        "/orders?"
        + urlencode([*[(k, v) for k, v in pairs if k != "cursor"], ("cursor", page.next_cursor)])
        if page.next_cursor
        else None
    )
    return render(
        request,
        "orders.html",
        status_code=200 if page.error is None else 502,
        page=page,
        current=current,
        tab_links=tab_links,
        sort_links=sort_links,
        next_link=next_link,
        presets=service.DATE_PRESETS,
        tracking_statuses=service.TRACKING_CHOICES,
        statuses=service.STATUS_CHOICES,
        return_statuses=service.RETURN_CHOICES,
        shop_choices=[(shop, shop) for shop in session.shops],
        zone=zone,
        status_labels=service.STATUS_LABELS,
        sort_choices=service.SORT_CHOICES,
        export_query=urlencode([(k, v) for k, v in pairs if v and k != "cursor"]),
    )


@router.get("/orders/stream")
async def orders_stream(request: Request, session: SignedIn) -> Response:
    """query-api's order stream, relayed with the user's token (EventSource sends no header)."""
    runtime = runtime_of(request)
    body = service.order_stream(
        runtime.api,
        runtime.signer.mint(session),
        request.headers.get("last-event-id"),
    )
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(request: Request, session: SignedIn, order_id: str) -> Response:
    runtime = runtime_of(request)
    detail = await service.order_detail(runtime.api, runtime.signer.mint(session), order_id)
    return render(
        request,
        "order.html",
        order=detail,
        notice=request.query_params.get("notice"),
        idempotency_key=secrets.token_urlsafe(16),
    )


@router.post("/orders/{order_id}/{action}")
async def order_action(
    request: Request, session: CsrfChecked, order_id: str, action: Action
) -> Response:
    runtime = runtime_of(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        await service.act(
            runtime.api,
            runtime.signer.mint(session),
            session,
            order_id,
            action,
            form,
        )
    except ApiError as exc:
        message = (
            f"The order could not be changed: {exc.detail}" if exc.status == 409 else exc.detail
        )
        try:
            detail = await service.order_detail(runtime.api, runtime.signer.mint(session), order_id)
        except ApiError:
            return render(request, "error.html", status_code=exc.status, message=message)
        return render(
            request,
            "order.html",
            status_code=exc.status,
            order=detail,
            action_error=message,
            idempotency_key=secrets.token_urlsafe(16),
        )
    notice = f"{action.value} requested"
    return RedirectResponse(f"/orders/{order_id}?" + urlencode({"notice": notice}), status_code=303)


@router.get("/exports", response_class=HTMLResponse)
async def exports_page(request: Request, session: SignedIn) -> Response:
    runtime = runtime_of(request)
    pairs = [(k, v) for k, v in request.query_params.multi_items() if v]
    past = await service.exports(runtime.api, runtime.signer.mint(session), session)
    return render(
        request,
        "exports.html",
        exports=past,
        filters=service.export_filters(pairs, zone_of(request)),
        query=urlencode(pairs),
        tz=zone_of(request),
    )


@router.post("/exports")
async def create_export(request: Request, session: CsrfChecked) -> Response:
    runtime = runtime_of(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    pairs = [(k, v) for k, v in request.query_params.multi_items() if v]
    export_id = await service.request_export(
        runtime.api, runtime.signer.mint(session), session, form, pairs, zone_of(request)
    )
    return RedirectResponse(f"/exports/{export_id}", status_code=303)


@router.get("/exports/{export_id}", response_class=HTMLResponse)
async def export_page(request: Request, session: SignedIn, export_id: str) -> Response:
    runtime = runtime_of(request)
    view = await service.export(runtime.api, runtime.signer.mint(session), session, export_id)
    return render(request, "export.html", export=view)


@router.get("/exports/{export_id}/download")
async def export_download(request: Request, session: SignedIn, export_id: str) -> Response:
    runtime = runtime_of(request)
    headers, body = await service.download(
        runtime.api, runtime.signer.mint(session), session, export_id
    )
    return StreamingResponse(body, headers=headers)


@router.get("/analysis", response_class=HTMLResponse)
async def analysis_page(request: Request, session: SignedIn) -> Response:
    runtime = runtime_of(request)
    pairs = list(request.query_params.multi_items())
    try:
        data = await service.analysis(
            runtime.api, runtime.signer.mint(session), session, pairs, zone_of(request)
        )
    except ApiError as exc:
        return render(
            request, "analysis.html", status_code=exc.status, error=exc.detail, current=dict(pairs)
        )
    return render(request, "analysis.html", current=dict(pairs), **data)
