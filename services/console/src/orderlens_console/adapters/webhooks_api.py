"""query-api's webhook subscription endpoints (docs/contract.md §5.8), with the user's token."""

from __future__ import annotations

from typing import Any

from orderlens_console.adapters.query_api import QueryApi

BASE = "/v1/webhook-subscriptions"


class WebhooksApi:
    def __init__(self, api: QueryApi) -> None:
        self._api = api

    async def _json(self, method: str, path: str, token: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._api._call(method, path, token, **kwargs)
        return result

    async def subscriptions(self, token: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = (await self._json("GET", BASE, token)).get("items", [])
        return items

    async def get(self, token: str, subscription_id: str) -> dict[str, Any]:
        return await self._json("GET", f"{BASE}/{subscription_id}", token)

    async def create(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._json("POST", BASE, token, json=body)

    async def update(
        self, token: str, subscription_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await self._json("PATCH", f"{BASE}/{subscription_id}", token, json=body)

    async def deliveries(
        self, token: str, subscription_id: str, state: str
    ) -> list[dict[str, Any]]:
        answer = await self._json(
            "GET",
            f"{BASE}/{subscription_id}/deliveries",
            token,
            params=[("state", state), ("limit", "100")],
        )
        items: list[dict[str, Any]] = answer.get("items", [])
        return items

    async def replay(self, token: str, subscription_id: str) -> int:
        answer = await self._json("POST", f"{BASE}/{subscription_id}/replay", token, json={})
        return int(answer.get("replayed", 0))
