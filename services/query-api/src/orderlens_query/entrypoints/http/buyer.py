"""GET /v1/me/orders, /v1/me/orders/{order_id} and its stream: the buyer's order center (buyer
tokens only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from orderlens.domain.buyer import BuyerTab
from orderlens.filters import ListOptions
from orderlens.tokens import Principal
from orderlens_query.auth import AppRuntime, OwnOrders
from orderlens_query.entrypoints.http.orders import ORDER_ID, Reader
from orderlens_query.entrypoints.http.stream import SSE_EVENT, resume_position, sse_response
from orderlens_query.models.buyer import BuyerOrderDetail, BuyerOrderPage
from orderlens_query.models.common import ApiModel
from orderlens_query.problems import ProblemException, problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.runtime import Runtime
from orderlens_query.services.buyer_queries import (
    list_my_orders,
    my_order,
    my_order_ids,
    owns_order,
)
from orderlens_query.services.order_stream import Position, order_events, positioned

router = APIRouter(prefix="/v1/me/orders", tags=["buyer"])
MAX_BUYER_PAGE = 50


@router.get(
    "",
    response_model=BuyerOrderPage,
    summary="The buyer's own orders, by Order Center tab, with every tab's count",
    description="Newest first; keyset paging: pass `next_cursor` as `cursor`. Buyer tokens only.",
    responses=problem_responses(400, 401, 403, 503),
    dependencies=[Depends(only_params("tab", "limit", "cursor"))],
)
async def get_my_orders(
    principal: OwnOrders,
    orders: Reader,
    tab: Annotated[BuyerTab | None, Query(description="One tab; all orders when absent.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BUYER_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=1_000)] = None,
) -> BuyerOrderPage:
    return await list_my_orders(orders, principal, tab, ListOptions(limit=limit, cursor=cursor))


@router.get(
    "/stream",
    summary="Events of the buyer's own orders as they happen (server-sent events)",
    description=(
        "The events of `GET /v1/orders/stream` narrowed to the buyer's orders stored when the "
        "stream opens (the newest 1000): `ready` once positioned, then an `order` event per "
        "change, for instance a new status (read the order center again to see it and its "
        "counts). `Last-Event-ID` resumes after the last event."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}},
        **problem_responses(400, 401, 403, 503),
    },
    dependencies=[Depends(only_params())],
)
async def stream_my_orders(
    runtime: AppRuntime,
    principal: OwnOrders,
    orders: Reader,
    last_event_id: Annotated[str | None, Header(max_length=4000)] = None,
) -> StreamingResponse:
    # Declared before /{order_id}, which would otherwise read "stream" as an order id.
    resume = resume_position(last_event_id)
    return await _stream(runtime, principal, resume, await my_order_ids(orders, principal))


@router.get(
    "/{order_id}",
    response_model=BuyerOrderDetail,
    summary="One of the buyer's own orders, with its tracking timeline",
    responses=problem_responses(400, 401, 403, 404, 503),
    dependencies=[Depends(only_params())],
)
async def get_my_order(principal: OwnOrders, orders: Reader, order_id: ORDER_ID) -> ApiModel:
    found = await my_order(orders, principal, order_id)
    if found is None:
        raise ProblemException(404, f"no order {order_id} of yours")
    return found


@router.get(
    "/{order_id}/stream",
    summary="Events of one of the buyer's own orders as they happen (server-sent events)",
    description=(
        "The events of `GET /v1/orders/stream` narrowed to this one order of the buyer's "
        "(another buyer's order answers 404 before anything is streamed): `ready` once "
        "positioned, then an `order` event per change, for instance a new carrier checkpoint "
        "(read the order again to see it). `Last-Event-ID` resumes after the last event."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}},
        **problem_responses(400, 401, 403, 404, 503),
    },
    dependencies=[Depends(only_params())],
)
async def stream_my_order(
    runtime: AppRuntime,
    principal: OwnOrders,
    orders: Reader,
    order_id: ORDER_ID,
    last_event_id: Annotated[str | None, Header(max_length=4000)] = None,
) -> StreamingResponse:
    resume = resume_position(last_event_id)
    if not await owns_order(orders, principal, order_id):
        raise ProblemException(404, f"no order {order_id} of yours")
    return await _stream(runtime, principal, resume, frozenset({order_id}))


async def _stream(
    runtime: Runtime, principal: Principal, resume: Position | None, order_ids: frozenset[str]
) -> StreamingResponse:
    settings = runtime.settings
    events = order_events(
        principal,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=(settings.topic_orders_created, settings.topic_status_changed),
        resume=resume,
        order_ids=order_ids,
    )
    return sse_response(await positioned(events))
