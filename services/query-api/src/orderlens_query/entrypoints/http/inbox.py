"""The seller inbox (docs/contract.md §5.7): each route turns a request into one call of
`orderlens_query.services.inbox`. Seller roles only; every answer is limited to what the token
may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from orderlens.notifications import InboxKind
from orderlens.tiktok import ORDER_ID_MAX_LENGTH, ORDER_ID_PATTERN
from orderlens_query.adapters.inbox_store import InboxStore
from orderlens_query.auth import AppRuntime, ReadOrders
from orderlens_query.models.inbox import InboxItemView, InboxPage, MarkedAll
from orderlens_query.problems import ProblemException, problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.services import inbox

router = APIRouter(prefix="/v1/inbox", tags=["inbox"])

ITEM_ID = Annotated[
    str, Path(description="The item id.", min_length=1, max_length=64, pattern=r"^[\w-]+$")
]


async def store(runtime: AppRuntime) -> InboxStore:
    return InboxStore(runtime.db)


Store = Annotated[InboxStore, Depends(store)]


@router.get(
    "",
    response_model=InboxPage,
    summary="Your inbox: events that need attention, newest first, with your unread count",
    description=(
        "New orders, cancellation or return requests, delivery issues, stalled parcels and your "
        "finished exports, of the token's shops and for the token's role. Keyset paging: pass "
        "`next_cursor` as `cursor`."
    ),
    responses=problem_responses(400, 401, 403, 503),
    dependencies=[Depends(only_params("kind", "unread", "order_id", "limit", "cursor"))],
)
async def get_inbox(
    runtime: AppRuntime,
    principal: ReadOrders,
    items: Store,
    kind: Annotated[InboxKind | None, Query(description="Only items of this kind.")] = None,
    unread: Annotated[
        bool | None, Query(description="true: unread items only; false: read ones only.")
    ] = None,
    order_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=ORDER_ID_MAX_LENGTH,
            pattern=ORDER_ID_PATTERN,
            description="Only items of this order.",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=1_000, description="`next_cursor` of the previous page.")
    ] = None,
) -> InboxPage:
    return await inbox.list_inbox(
        principal,
        items,
        kind=kind,
        unread=unread,
        order_id=order_id,
        limit=limit,
        cursor=cursor,
        cursor_key=runtime.settings.cursor_key,
    )


@router.post(
    "/read-all",
    response_model=MarkedAll,
    summary="Mark every item you can see read",
    responses=problem_responses(400, 401, 403, 503),
    dependencies=[Depends(only_params())],
)
async def post_read_all(principal: ReadOrders, items: Store) -> MarkedAll:
    return MarkedAll(marked=await inbox.mark_all_read(principal, items))


async def _mark(
    principal: ReadOrders, items: InboxStore, item_id: str, read: bool
) -> InboxItemView:
    found = await inbox.mark(principal, items, item_id, read=read)
    if found is None:
        raise ProblemException(404, f"no inbox item {item_id}")
    return found


@router.post(
    "/{item_id}/read",
    response_model=InboxItemView,
    summary="Mark an item read (for you)",
    responses=problem_responses(400, 401, 403, 404, 503),
    dependencies=[Depends(only_params())],
)
async def post_read(principal: ReadOrders, items: Store, item_id: ITEM_ID) -> InboxItemView:
    return await _mark(principal, items, item_id, True)


@router.post(
    "/{item_id}/unread",
    response_model=InboxItemView,
    summary="Mark an item unread again (for you)",
    responses=problem_responses(400, 401, 403, 404, 503),
    dependencies=[Depends(only_params())],
)
async def post_unread(principal: ReadOrders, items: Store, item_id: ITEM_ID) -> InboxItemView:
    return await _mark(principal, items, item_id, False)
