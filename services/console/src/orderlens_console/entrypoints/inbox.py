"""The inbox pages (docs/contract.md §5.7): each route turns a request into one call of
`orderlens_console.inbox` and renders or redirects."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from orderlens_console import inbox
from orderlens_console.adapters.query_api import ApiError
from orderlens_console.entrypoints.http import CsrfChecked, SignedIn, render, runtime_of

router = APIRouter()


def _token(request: Request, session: SignedIn) -> str:
    return runtime_of(request).signer.mint(session)


@router.get("/inbox", response_class=HTMLResponse)
async def inbox_page(request: Request, session: SignedIn) -> Response:
    pairs = list(request.query_params.multi_items())
    page = await inbox.inbox_page(runtime_of(request).api, _token(request, session), pairs)
    current = {k: v for k, v in pairs if k in inbox.PAGE_PARAMS - {"cursor"} and v}
    next_link = (
        "/inbox?" + urlencode({**current, "cursor": page.next_cursor}) if page.next_cursor else None
    )
    return render(
        request,
        "inbox.html",
        page=page,
        current=current,
        kinds=inbox.KIND_CHOICES,
        next_link=next_link,
        notice=request.query_params.get("notice"),
    )


@router.get("/inbox/unread")
async def unread_count(request: Request, session: SignedIn) -> Response:
    """The nav badge's number (static/inbox.js asks for it on every page)."""
    try:
        count = await inbox.unread(runtime_of(request).api, _token(request, session))
    except ApiError as exc:
        return JSONResponse({"unread": None, "error": exc.detail}, status_code=exc.status)
    return JSONResponse({"unread": count}, headers={"Cache-Control": "no-store"})


def _back(notice: str) -> Response:
    return RedirectResponse("/inbox?" + urlencode({"notice": notice}), status_code=303)


@router.post("/inbox/read-all")
async def read_all(request: Request, session: CsrfChecked) -> Response:
    marked = await inbox.read_all(runtime_of(request).api, _token(request, session))
    return _back(f"{marked} marked read")


@router.post("/inbox/preferences")
async def save_preferences(request: Request, session: CsrfChecked) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    await inbox.save_preferences(runtime_of(request).api, _token(request, session), form)
    return _back("Preferences saved")


@router.post("/inbox/{item_id}/{state}")
async def mark(request: Request, session: CsrfChecked, item_id: str, state: str) -> Response:
    if state not in {"read", "unread"}:
        return render(request, "error.html", status_code=404, message="no such page")
    await inbox.mark(runtime_of(request).api, _token(request, session), item_id, state == "read")
    return _back(f"Marked {state}")
