"""GET /v1/orders, /v1/orders/counts and /v1/orders/{order_id}."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from orderlens.filters import ListOptions, OrderFilters
from orderlens.tiktok import ORDER_ID_MAX_LENGTH, ORDER_ID_PATTERN
from orderlens_query.adapters.order_reader import OrderReader
from orderlens_query.auth import AppRuntime, ReadOrders
from orderlens_query.models.orders import OrderCounts, OrderDetail, OrderPage
from orderlens_query.problems import ProblemException, problem_responses
from orderlens_query.query_params import (
    filters_query,
    list_query,
    only_params,
    openapi_parameters,
)
from orderlens_query.services.order_queries import count_orders, list_orders, order_detail

router = APIRouter(prefix="/v1/orders", tags=["orders"])

ORDER_ID = Annotated[
    str,
    Path(
        description="The order id (TikTok's, a string).",
        min_length=1,
        max_length=ORDER_ID_MAX_LENGTH,
        pattern=ORDER_ID_PATTERN,
    ),
]


async def reader(runtime: AppRuntime) -> OrderReader:
    return OrderReader(
        runtime.db,
        max_time_ms=runtime.settings.query_max_time_ms,
        page_bounds=runtime.page_bounds,
    )


Reader = Annotated[OrderReader, Depends(reader)]


@router.get(
    "",
    response_model=OrderPage,
    summary="The filtered order list",
    description=(
        "All parameters are optional and combine with AND; repeatable ones mean any of. "
        "Keyset paging: pass `next_cursor` as `cursor`. Served by the index on "
        "(shop_id, <sort key>, _id)."
    ),
    responses=problem_responses(400, 401, 403, 503),
    openapi_extra={"parameters": openapi_parameters(paging=True)},
)
async def get_orders(
    runtime: AppRuntime,
    principal: ReadOrders,
    orders: Reader,
    query: Annotated[tuple[OrderFilters, ListOptions], Depends(list_query)],
) -> OrderPage:
    filters, options = query
    key = runtime.settings.cursor_key
    return await list_orders(orders, principal, filters, options, datetime.now(UTC), key)


@router.get(
    "/counts",
    response_model=OrderCounts,
    summary="Order counts per status and per view (tab badges)",
    responses=problem_responses(400, 401, 403, 503),
    openapi_extra={"parameters": openapi_parameters(paging=False)},
)
async def get_counts(
    principal: ReadOrders,
    orders: Reader,
    filters: Annotated[OrderFilters, Depends(filters_query)],
) -> OrderCounts:
    return await count_orders(orders, principal, filters, datetime.now(UTC))


@router.get(
    "/{order_id}",
    response_model=OrderDetail,
    summary="The detailed view of one order",
    responses=problem_responses(400, 401, 403, 404, 503),
    dependencies=[Depends(only_params())],
)
async def get_order(principal: ReadOrders, orders: Reader, order_id: ORDER_ID) -> OrderDetail:
    found = await order_detail(orders, principal, order_id)
    if found is None:
        raise ProblemException(404, f"no order {order_id} in your shops")
    return found
