"""One signed delivery attempt over HTTP (docs/contract.md §3.7; decisions 0171, 0173)."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from orderlens.webhooks import internal_address, signature_headers

from .metrics import ATTEMPT_DURATION


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None
    error: str | None


class HttpSender:
    """POSTs the stored CloudEvent bytes with fresh signature headers. A 2xx answer is a
    delivery; anything else (another status, a timeout, a refused connection) is a failed
    attempt. Redirects are not followed: a subscriber's URL is where the secret's events go."""

    def __init__(self, client: httpx.AsyncClient, *, allow_internal: bool) -> None:
        self._client = client
        self._allow_internal = allow_internal

    async def send(
        self, url: str, secret: str, message_id: str, body: bytes, now: datetime
    ) -> Attempt:
        if not self._allow_internal:
            refused = await self._internal(url)
            if refused:
                return Attempt(False, None, refused)
        started = time.monotonic()
        try:
            async with self._client.stream(
                "POST", url, content=body, headers=signature_headers(secret, message_id, body, now)
            ) as response:
                status = response.status_code
        except httpx.HTTPError as exc:
            return Attempt(False, None, f"{type(exc).__name__}: {exc}"[:500])
        finally:
            ATTEMPT_DURATION.observe(time.monotonic() - started)
        if 200 <= status < 300:
            return Attempt(True, status, None)
        return Attempt(False, status, f"HTTP {status}")

    async def _internal(self, url: str) -> str | None:
        """The name's addresses, checked now: a public name may resolve to an internal one."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, parts.port or 443, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        for info in infos:
            if internal_address(str(info[4][0])):
                return f"{host} resolves to an internal address"
        return None
