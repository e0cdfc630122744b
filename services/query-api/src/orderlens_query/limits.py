"""Request size limits, checked before routing (issue 17 #7, decision 0074).

Headers, the query string's parameter count and the body are capped; a request with a body is
authenticated before a byte of it is read, so an anonymous caller cannot make the API read and
parse megabytes. Answers are problem documents like every other error.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderlens.tokens import TokenError

MAX_HEADER_BYTES = 16 * 1024
MAX_QUERY_PARAMS = 100
MAX_BODY_BYTES = 64 * 1024  # the largest body, an export request, is well under 4 KiB
MAX_PUBLIC_BODY_BYTES = 8 * 1024  # a buyer's e-mail address or link token
PROBLEM_JSON = "application/problem+json"


class _TooLarge(Exception):
    pass


async def _problem(send: Send, scope: Scope, status: int, detail: str, **extra: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "instance": scope.get("path", ""),
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _hardened(send: Send) -> Send:
    """JSON answers carry orders and PII: never cached, never sniffed (issue 17 #11)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            if b"x-content-type-options" not in names:
                headers.append((b"x-content-type-options", b"nosniff"))
            if b"cache-control" not in names:
                headers.append((b"cache-control", b"no-store"))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


class RequestLimits:
    """`public_paths`: the few endpoints a caller reaches without a token (a buyer holding a
    link or an address); their bodies get no token check but the much smaller
    `MAX_PUBLIC_BODY_BYTES`, so anonymous callers still cannot make the API read much."""

    def __init__(self, app: ASGIApp, public_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _hardened(send)
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            await _problem(send, scope, 431, f"request headers over {MAX_HEADER_BYTES} bytes")
            return
        query = scope.get("query_string", b"")
        if (
            query.count(b"&") >= MAX_QUERY_PARAMS
            or len(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) > MAX_QUERY_PARAMS
        ):
            await _problem(send, scope, 400, f"more than {MAX_QUERY_PARAMS} query parameters")
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            public = scope["path"] in self.public_paths
            cap = MAX_PUBLIC_BODY_BYTES if public else MAX_BODY_BYTES
            if not public and not await self._authenticated(scope, headers):
                await _problem(
                    send,
                    scope,
                    401,
                    "a valid bearer token is required",
                    **{"www-authenticate": 'Bearer realm="orderlens"'},
                )
                return
            length = dict(headers).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > cap):
                await _problem(send, scope, 413, f"request body over {cap} bytes")
                return
            received = 0

            async def capped() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > cap:
                        raise _TooLarge
                return message

            try:
                await self.app(scope, capped, send)
            except _TooLarge:
                await _problem(send, scope, 413, f"request body over {cap} bytes")
            return
        await self.app(scope, receive, send)

    async def _authenticated(self, scope: Scope, headers: list[tuple[bytes, bytes]]) -> bool:
        app: Any = scope.get("app")
        runtime = getattr(getattr(app, "state", None), "runtime", None)
        if runtime is None:
            return True  # not started yet: the route's own dependency answers
        value = dict(headers).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        verifier = runtime.verifier
        try:
            if verifier.blocking:
                await run_in_threadpool(verifier.verify, token)
            else:
                verifier.verify(token)
        except TokenError:
            return False
        return True
