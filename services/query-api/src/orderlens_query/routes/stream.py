"""GET /v1/orders/stream: order events as server-sent events (docs/decisions/0103)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from orderlens_query.auth import AppRuntime, ReadOrders
from orderlens_query.order_stream import BadPosition, decode_position, order_events
from orderlens_query.problems import ProblemException, problem_responses

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
        "is positioned: whatever is published after it will come."
    ),
    response_class=StreamingResponse,
    responses={
        # One server-sent event (its fields as text), which is how SSE clients and
        # schemathesis read the body: `ready` once, then `order` events (data: JSON).
        200: {"content": {"text/event-stream": {"schema": SSE_EVENT}}},
        **problem_responses(400, 401, 403),
    },
)
async def stream_orders(
    runtime: AppRuntime,
    principal: ReadOrders,
    last_event_id: Annotated[str | None, Header(max_length=4000)] = None,
) -> StreamingResponse:
    try:
        resume = decode_position(last_event_id) if last_event_id else None
    except BadPosition as exc:
        raise ProblemException(400, str(exc)) from None
    settings = runtime.settings
    events = order_events(
        principal,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        topics=(settings.topic_orders_created, settings.topic_status_changed),
        resume=resume,
    )

    async def body() -> AsyncIterator[bytes]:
        ready = False
        async for position, event in events:
            if not ready:
                # The consumer is positioned: whatever is published from now on will come.
                ready = True
                yield f"id: {position}\nevent: ready\ndata: {{}}\n\n".encode()
            elif event is None:
                yield f": heartbeat\nid: {position}\n\n".encode()
            else:
                data = json.dumps(event.payload(), separators=(",", ":"))
                yield f"id: {position}\nevent: order\ndata: {data}\n\n".encode()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
