"""GET /v1/orders/stream: order events as server-sent events (docs/decisions/0103)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from orderlens_query.auth import AppRuntime, ReadOrders
from orderlens_query.problems import ProblemException, problem_responses
from orderlens_query.services.order_stream import (
    BadPosition,
    Position,
    StreamEvent,
    decode_position,
    order_events,
    positioned,
    sse_frames,
)

SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "event": {"type": "string", "enum": ["ready", "order"]},
        "data": {"type": "string"},
    },
}

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.get(
    "/stream",
    summary="Order events as they happen (server-sent events)",
    description=(
        "`text/event-stream` of `order` events for the token's shops: "
        '`data: {"kind": "created"|"status_changed", "order_id", "shop_id", "status", "view", '
        '"at"}` (no buyer data, so nothing to mask). Each event\'s `id` is a stream position: '
        "reconnect with `Last-Event-ID` to receive exactly the events after it. A comment "
        "line is sent every 15 s when nothing happens. The first event, `ready`, says the stream "
        "is positioned: whatever is published after it will come. Kafka unavailable: 503 "
        "with `Retry-After`, before anything is streamed."
    ),
    response_class=StreamingResponse,
    responses={
        # One server-sent event (its fields as text), which is how SSE clients and
        # schemathesis read the body: `ready` once, then `order` events (data: JSON).
        200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}},
        **problem_responses(400, 401, 403, 503),
    },
)
async def stream_orders(
    runtime: AppRuntime,
    principal: ReadOrders,
    last_event_id: Annotated[str | None, Header(max_length=4000)] = None,
) -> StreamingResponse:
    settings = runtime.settings
    events = order_events(
        principal,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=(settings.topic_orders_created, settings.topic_status_changed),
        resume=resume_position(last_event_id),
    )
    return sse_response(await positioned(events))


def resume_position(last_event_id: str | None) -> Position | None:
    try:
        return decode_position(last_event_id) if last_event_id else None
    except BadPosition as exc:
        raise ProblemException(400, str(exc)) from None


def sse_response(events: AsyncIterator[tuple[str, StreamEvent | None]]) -> StreamingResponse:
    return StreamingResponse(
        sse_frames(events),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
