"""The webhook subscription pages (admins only): each route is one call of
`orderlens_console.webhooks` and a rendered answer."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from orderlens_console import webhooks
from orderlens_console.adapters.query_api import ApiError
from orderlens_console.adapters.webhooks_api import WebhooksApi
from orderlens_console.entrypoints.http import CsrfChecked, SignedIn, render, runtime_of

router = APIRouter()


def _api(request: Request) -> WebhooksApi:
    return WebhooksApi(runtime_of(request).api)


def _token(request: Request, session: SignedIn) -> str:
    return runtime_of(request).signer.mint(session)


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, session: SignedIn) -> Response:
    items = await webhooks.subscriptions(_api(request), _token(request, session), session)
    return render(
        request,
        "webhooks.html",
        subscriptions=items,
        event_choices=webhooks.EVENT_CHOICES,
        notice=request.query_params.get("notice"),
    )


@router.post("/webhooks")
async def create_subscription(request: Request, session: CsrfChecked) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    types = [v for v in form.getlist("event_types") if isinstance(v, str)]
    body = webhooks.subscription_body(values, types)
    try:
        created = await webhooks.create(_api(request), _token(request, session), session, body)
    except ApiError as exc:
        items = await webhooks.subscriptions(_api(request), _token(request, session), session)
        return render(
            request,
            "webhooks.html",
            status_code=exc.status,
            subscriptions=items,
            event_choices=webhooks.EVENT_CHOICES,
            form_error=exc.detail,
            form=body,
        )
    # Rendered, not redirected: the secret must not travel in a URL, and it is shown this once.
    view = await webhooks.detail(_api(request), _token(request, session), session, created["id"])
    return render(request, "webhook.html", view=view, new_secret=created["secret"])


@router.get("/webhooks/{subscription_id}", response_class=HTMLResponse)
async def subscription_page(request: Request, session: SignedIn, subscription_id: str) -> Response:
    view = await webhooks.detail(_api(request), _token(request, session), session, subscription_id)
    return render(request, "webhook.html", view=view, notice=request.query_params.get("notice"))


@router.post("/webhooks/{subscription_id}/replay")
async def replay(request: Request, session: CsrfChecked, subscription_id: str) -> Response:
    count = await webhooks.replay(_api(request), _token(request, session), session, subscription_id)
    notice = f"{count} parked deliveries queued again"
    return RedirectResponse(
        f"/webhooks/{subscription_id}?" + urlencode({"notice": notice}), status_code=303
    )


@router.post("/webhooks/{subscription_id}/active")
async def set_active(request: Request, session: CsrfChecked, subscription_id: str) -> Response:
    form = await request.form()
    active = form.get("active") == "true"
    await webhooks.set_active(
        _api(request), _token(request, session), session, subscription_id, active
    )
    notice = "resumed" if active else "paused"
    return RedirectResponse(
        f"/webhooks/{subscription_id}?" + urlencode({"notice": notice}), status_code=303
    )
