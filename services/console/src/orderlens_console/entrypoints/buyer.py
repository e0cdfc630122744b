"""The buyer pages under /buyer (decision 0180): each route turns a request into one call of
`orderlens_console.buyer_service` and renders it with the buyer templates, which carry no seller
navigation. A buyer's session is its own cookie holding the buyer token of their link."""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from orderlens.constant_time import same_secret
from orderlens.signed_links import BUYER_LANDING_PATH
from orderlens_console import buyer_service
from orderlens_console.adapters.query_api import ApiError
from orderlens_console.runtime import Runtime
from orderlens_console.sessions import BUYER_COOKIE, BuyerSession, csrf_ok

router = APIRouter(prefix="/buyer")
# Where query-api's buyer links point (decision 0182): the one constant both services read.
landing = APIRouter()
# Before a buyer has a session, a double-submit cookie guards the link and sign-in forms.
FORM_CSRF_COOKIE = "orderlens_buyer_form"


class BuyerNotSignedIn(Exception):
    pass


class BuyerCsrfRefused(Exception):
    pass


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _session(request: Request) -> BuyerSession | None:
    return _runtime(request).codec.loads_buyer(request.cookies.get(BUYER_COOKIE), time.time())


async def current_buyer(request: Request) -> BuyerSession:
    session = _session(request)
    if session is None:
        raise BuyerNotSignedIn
    return session


Buyer = Annotated[BuyerSession, Depends(current_buyer)]


async def checked_buyer(request: Request, session: Buyer) -> BuyerSession:
    form = await request.form()
    value = form.get("csrf_token")
    if not csrf_ok(session, value if isinstance(value, str) else None):
        raise BuyerCsrfRefused
    return session


BuyerChecked = Annotated[BuyerSession, Depends(checked_buyer)]


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    response = _runtime(request).templates.TemplateResponse(
        request,
        f"buyer/{template}",
        {"buyer": _session(request), **context},
        status_code=status_code,
    )
    # A buyer's orders are their personal data: never kept by a shared cache or the back button
    # of a shared device after sign-out.
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_token(request: Request) -> str:
    return request.cookies.get(FORM_CSRF_COOKIE) or secrets.token_urlsafe(24)


def _with_form_cookie(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(
        FORM_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_runtime(request).settings.secure_cookies,
        path="/buyer",
    )
    return response


def _form_ok(request: Request, presented: str) -> bool:
    cookie = request.cookies.get(FORM_CSRF_COOKIE)
    return bool(cookie) and same_secret(presented, cookie or "")


def _set_buyer(request: Request, response: Response, session: BuyerSession) -> None:
    runtime = _runtime(request)
    response.set_cookie(
        BUYER_COOKIE,
        runtime.codec.dumps_buyer(session),
        max_age=max(
            1, min(runtime.settings.session_max_age_seconds, session.expires_at - int(time.time()))
        ),
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
        path="/buyer",
    )


def api_error(request: Request, exc: ApiError) -> Response:
    if exc.status == 404:
        return render(
            request, "error.html", status_code=404, message="We found no such order of yours."
        )
    if exc.status == 401:
        # The buyer token expired under the session: sign in again.
        return RedirectResponse("/buyer/signin", status_code=303)
    return render(
        request,
        "error.html",
        status_code=503 if exc.status >= 500 else exc.status,
        message="Your orders cannot be shown right now. Please try again in a moment.",
    )


@router.get("", include_in_schema=False)
async def buyer_home() -> Response:
    return RedirectResponse("/buyer/orders", status_code=303)


@landing.get(BUYER_LANDING_PATH, response_class=HTMLResponse)
async def open_page(request: Request, token: str = "") -> Response:
    """Where a buyer link lands. Opening it is a button press (a POST), so a mail scanner that
    fetches the link does not spend a one-time sign-in link."""
    if not token or len(token) > 4_000:
        return render(
            request,
            "error.html",
            status_code=400,
            message="This link is incomplete. Open it again from your e-mail, or ask for a new "
            "one.",
            offer_sign_in=True,
        )
    form_token = _form_token(request)
    response = render(
        request, "open.html", link_token=token, form_token=form_token, action=BUYER_LANDING_PATH
    )
    return _with_form_cookie(request, response, form_token)


@landing.post(BUYER_LANDING_PATH)
async def open_link(
    request: Request,
    token: Annotated[str, Form(max_length=4_000)],
    csrf_token: Annotated[str, Form(max_length=100)],
    tz: Annotated[str, Form(max_length=64)] = "UTC",
) -> Response:
    if not _form_ok(request, csrf_token):
        raise BuyerCsrfRefused
    try:
        session = await buyer_service.open_link(_runtime(request).api, token, tz)
    except buyer_service.LinkNotAccepted as exc:
        return render(
            request, "error.html", status_code=401, message=exc.message, offer_sign_in=True
        )
    except ApiError as exc:
        return api_error(request, exc)
    response = RedirectResponse("/buyer/orders", status_code=303)
    _set_buyer(request, response, session)
    return response


@router.get("/signin", response_class=HTMLResponse)
async def sign_in_page(request: Request) -> Response:
    form_token = _form_token(request)
    response = render(request, "signin.html", form_token=form_token)
    return _with_form_cookie(request, response, form_token)


@router.post("/signin")
async def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=254)],
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    if not _form_ok(request, csrf_token):
        raise BuyerCsrfRefused
    try:
        problem = await buyer_service.request_sign_in(_runtime(request).api, email)
    except ApiError as exc:
        if exc.status == 400:
            problem = "Enter the e-mail address of your order, like ana@example.com."
        else:
            return api_error(request, exc)
    if problem is not None:
        return render(
            request,
            "signin.html",
            status_code=400,
            form_token=csrf_token,
            email=email,
            problem=problem,
        )
    return render(request, "sent.html", email=email.strip())


@router.post("/signout")
async def sign_out(session: BuyerChecked) -> Response:
    response = RedirectResponse("/buyer/signin", status_code=303)
    response.delete_cookie(BUYER_COOKIE, path="/buyer")
    return response


@router.post("/timezone")
async def set_time_zone(
    request: Request,
    session: BuyerChecked,
    tz: Annotated[str, Form(max_length=64)],
    back: Annotated[str, Form(max_length=300)] = "/buyer/orders",
) -> Response:
    # Only a page of ours: a crafted form cannot send the buyer elsewhere.
    target = back if back.startswith("/buyer/") and "//" not in back else "/buyer/orders"
    response = RedirectResponse(target, status_code=303)
    _set_buyer(request, response, session.model_copy(update={"tz": buyer_service.zone_name(tz)}))
    return response


@router.get("/orders", response_class=HTMLResponse)
async def orders(
    request: Request, session: Buyer, tab: str | None = None, cursor: str | None = None
) -> Response:
    center = await buyer_service.order_center(_runtime(request).api, session, tab, cursor)
    next_link = (
        "/buyer/orders?"
        + urlencode(
            {**({"tab": center.current} if center.current else {}), "cursor": center.next_cursor}
        )
        if center.next_cursor
        else None
    )
    return render(
        request,
        "orders.html",
        center=center,
        next_link=next_link,
        back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.get("/notifications", response_class=HTMLResponse)
async def notifications(request: Request, session: Buyer, saved: str | None = None) -> Response:
    """The e-mails the buyer wants (decision 0215): query-api's preferences, with the buyer
    token of their session, which is what the notifier reads before it sends a mail."""
    try:
        email = await buyer_service.mail_preferences(_runtime(request).api, session)
    except ApiError as exc:
        return api_error(request, exc)
    return render(
        request,
        "notifications.html",
        choices=buyer_service.mail_choices(email),
        saved=saved == "1",
    )


@router.post("/notifications")
async def save_notifications(request: Request, session: BuyerChecked) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        await buyer_service.save_mail_preferences(_runtime(request).api, session, form)
    except buyer_service.PreferencesRefused as exc:
        return render(
            request,
            "notifications.html",
            status_code=400,
            choices=buyer_service.mail_choices(exc.wanted, exc.problems),
            form_problems=[
                v for k, v in exc.problems.items() if k not in buyer_service.MAIL_FIELDS
            ],
        )
    except ApiError as exc:
        return api_error(request, exc)
    # Post/redirect/get: a reload shows what was saved and does not send the form again.
    return RedirectResponse("/buyer/notifications?saved=1", status_code=303)


@router.get("/orders/stream")
async def orders_stream(request: Request, session: Buyer) -> Response:
    """query-api's stream of the buyer's orders, relayed for the order center (decision 0216);
    declared before /orders/{order_id}, which would take "stream" for an order id."""
    try:
        body = await buyer_service.orders_stream(
            _runtime(request).api, session, request.headers.get("last-event-id")
        )
    except ApiError as exc:
        return Response(status_code=exc.status if exc.status < 500 else 503)
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(request: Request, session: Buyer, order_id: str) -> Response:
    runtime = _runtime(request)
    detail = await buyer_service.my_order(
        runtime.api, session, order_id, stalled_hours=runtime.settings.buyer_stalled_hours
    )
    return render(request, "order.html", order=detail, back=request.url.path)


@router.get("/orders/{order_id}/stream")
async def order_stream(request: Request, session: Buyer, order_id: str) -> Response:
    """query-api's stream of this one order of the buyer's, relayed (EventSource sends no
    Authorization header)."""
    try:
        body = await buyer_service.order_stream(
            _runtime(request).api, session, order_id, request.headers.get("last-event-id")
        )
    except ApiError as exc:
        return Response(status_code=exc.status if exc.status < 500 else 503)
    return StreamingResponse(
        body, media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


def install(app: FastAPI) -> None:
    """The buyer routes and their two redirects/refusals (the seller's lead elsewhere)."""
    app.include_router(landing)
    app.include_router(router)

    @app.exception_handler(BuyerNotSignedIn)
    async def not_signed_in(request: Request, exc: BuyerNotSignedIn) -> Response:
        return RedirectResponse("/buyer/signin", status_code=303)

    @app.exception_handler(BuyerCsrfRefused)
    async def csrf_refused(request: Request, exc: BuyerCsrfRefused) -> Response:
        return render(
            request,
            "error.html",
            status_code=403,
            message="This form has expired. Go back, reload the page and try again.",
        )
