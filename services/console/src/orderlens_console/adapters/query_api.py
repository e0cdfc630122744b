"""query-api's HTTP API, called with the signed-in user's token (the console's only data source)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A problem+json answer (or an unreachable API), with what the user should read."""

    def __init__(
        self, status: int, detail: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        # A 400's `errors`: each offending parameter or body field (`body.email.shipped`).
        self.errors = errors or []


Params = Sequence[tuple[str, str]]


class QueryApi:
    def __init__(self, base_url: str, *, timeout: float = 15.0) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def reachable(self) -> bool:
        """True when query-api answers its liveness probe (the console's readiness)."""
        try:
            response = await self._client.get("/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def _call(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: Params = (),
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        # token None: the two endpoints a buyer reaches with a link, not a token.
        auth = {"Authorization": f"Bearer {token}"} if token is not None else {}
        try:
            response = await self._client.request(
                method, path, params=list(params), json=json, headers={**auth, **(headers or {})}
            )
        except httpx.HTTPError as exc:
            raise ApiError(503, f"query-api is unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            detail = response.reason_phrase
            errors: list[dict[str, Any]] = []
            try:
                body = response.json()
                detail = str(body.get("detail") or body.get("title") or detail)
                errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
            except (ValueError, AttributeError):
                pass
            raise ApiError(response.status_code, detail, errors)
        return response.json()

    async def list_orders(self, token: str, params: Params) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/orders", token, params=params)
        return result

    async def counts(self, token: str, params: Params) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/orders/counts", token, params=params)
        return result

    async def order(self, token: str, order_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/orders/{order_id}", token)
        return result

    async def act(
        self, token: str, order_id: str, action: str, body: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST",
            f"/v1/orders/{order_id}/actions/{action}",
            token,
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        return result

    async def create_export(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/v1/exports", token, json=body)
        return result

    async def exports(self, token: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "GET", "/v1/exports", token, params=[("limit", "50")]
        )
        return result

    async def export(self, token: str, export_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/exports/{export_id}", token)
        return result

    async def download(
        self, token: str, export_id: str
    ) -> tuple[dict[str, str], AsyncIterator[bytes]]:
        """The file's headers and its body, streamed (exports may be large)."""
        request = self._client.build_request(
            "GET",
            f"/v1/exports/{export_id}/download",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ApiError(503, f"query-api is unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            detail = response.reason_phrase
            with contextlib.suppress(ValueError):
                detail = str(response.json().get("detail") or detail)
            raise ApiError(response.status_code, detail)
        kept = {
            k: v
            for k, v in response.headers.items()
            if k.lower() in {"content-type", "content-disposition", "content-length"}
        }

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_bytes():
                    yield chunk
            finally:
                await response.aclose()

        return kept, body()

    async def stream(
        self, token: str, last_event_id: str | None, path: str = "/v1/orders/stream"
    ) -> AsyncIterator[bytes]:
        """An order stream's bytes as they come (GET /v1/orders/stream, or a buyer's order's)."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(10.0, read=None)
        try:
            async with self._client.stream(
                "GET", path, headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    # Refused (an expired session, query-api without Kafka): end the relay;
                    # the page keeps working without live updates and EventSource retries.
                    log.warning("query-api refused the order stream: %s", response.status_code)
                    return
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.HTTPError:
            # query-api went away mid-stream: end the relay cleanly; the browser's EventSource
            # reconnects with its Last-Event-ID and resumes after the last event it saw.
            return

    async def stats(self, token: str, name: str, params: Params) -> dict[str, Any]:
        """One of GET /v1/stats/{sales,top-products,regions,delivery}."""
        result: dict[str, Any] = await self._call("GET", f"/v1/stats/{name}", token, params=params)
        return result

    # The buyer's side (docs/contract.md §5.1 buyer row): links, sessions and their own orders.
    async def buyer_session(self, link_token: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "POST", "/v1/buyer-sessions", None, json={"token": link_token}
        )
        return result

    async def buyer_sign_in(self, email: str) -> None:
        await self._call("POST", "/v1/buyer-sign-in", None, json={"email": email})

    async def my_orders(self, token: str, params: Params) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/me/orders", token, params=params)
        return result

    async def my_order(self, token: str, order_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/me/orders/{order_id}", token)
        return result

    async def open_stream(
        self, token: str, path: str, last_event_id: str | None
    ) -> AsyncIterator[bytes]:
        """A stream whose answer status is known before its bytes are relayed: a refusal raises
        ApiError here, where the caller can still answer it properly."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        request = self._client.build_request(
            "GET", path, headers=headers, timeout=httpx.Timeout(10.0, read=None)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ApiError(503, f"query-api is unreachable ({type(exc).__name__})") from None
        if response.status_code >= 400:
            await response.aread()
            await response.aclose()
            detail = response.reason_phrase
            with contextlib.suppress(ValueError):
                detail = str(response.json().get("detail") or detail)
            raise ApiError(response.status_code, detail)

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in response.aiter_bytes():
                    yield chunk
            except httpx.HTTPError:
                return  # query-api went away: EventSource reconnects with Last-Event-ID
            finally:
                await response.aclose()

        return body()

    # -- the inbox and notification preferences (docs/contract.md §5.7) -------------------------

    async def inbox(self, token: str, params: Params) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/inbox", token, params=params)
        return result

    async def mark_inbox(self, token: str, item_id: str, read: bool) -> dict[str, Any]:
        path = f"/v1/inbox/{item_id}/{'read' if read else 'unread'}"
        result: dict[str, Any] = await self._call("POST", path, token)
        return result

    async def inbox_read_all(self, token: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/v1/inbox/read-all", token)
        return result

    async def preferences(self, token: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/me/notification-preferences", token)
        return result

    async def put_preferences(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            "PUT", "/v1/me/notification-preferences", token, json=body
        )
        return result
