"""Request count and latency per route template, as every orderlens HTTP service exposes them
(orderlens_http_requests_total / orderlens_http_request_duration_seconds)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderlens.metrics import HTTP_DURATION, HTTP_REQUESTS


class HttpMetrics:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            # The route template, never the raw path (order ids would explode the series).
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
            HTTP_DURATION.labels(self.service, method, template).observe(
                time.perf_counter() - started
            )
