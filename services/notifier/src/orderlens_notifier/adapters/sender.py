"""The HTTP adapter: POST one signed CloudEvent; any answer but 2xx, or no answer, fails."""

from __future__ import annotations

import httpx

from orderlens_notifier.service import DeliveryFailed


class HttpSender:
    def __init__(self, timeout: float) -> None:
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def __call__(self, url: str, headers: dict[str, str], body: bytes) -> None:
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"receiver answered {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
