"""The signed TikTok Shop Partner API client (docs/decisions/0090, 0091).

Every Open API call: `app_key`, `timestamp` (and `shop_cipher` for shop-scoped calls) in the query,
`sign` over path, sorted query and body, the access token in `x-tts-access-token`. TikTok's answers
are mapped to three outcomes a caller can act on: an expired token is refreshed once and the call
retried; throttling pauses the bucket and retries; anything the caller got wrong is an
`InvalidRequest` that is never retried.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from orderlens.tiktok_signing import request_sign

from .ratelimit import Limiter

API_VERSION = "202309"
MAX_DETAIL_IDS = 50  # Get Order Detail takes at most 50 ids a call
MAX_PAGE_SIZE = 100  # Search Orders answers at most 100 orders a page

# TikTok's `code` values the client acts on (0091 lists where each comes from).
CODE_OK = 0
CODES_TOKEN_EXPIRED = frozenset({105002})
CODES_TOKEN_INVALID = frozenset({105001, 105000})
CODES_THROTTLED = frozenset({36009003, 429})
# The shop withdrew this app's authorization (the simulator's reading, 0092): no retry helps.
CODES_SHOP_UNAUTHORIZED = frozenset({105005})


class TikTokError(Exception):
    def __init__(self, message: str, *, code: int | None = None, request_id: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


class InvalidRequest(TikTokError):
    """TikTok refused the request as made (bad parameter, wrong state, signature): final."""


class AuthorizationLost(TikTokError):
    """The shop's token is invalid even after a refresh: the shop must be authorized again."""


class Unavailable(TikTokError):
    """Throttled or failing past the retry budget; a later attempt may succeed."""


@dataclass(frozen=True, slots=True)
class ShopRef:
    shop_id: str
    cipher: str


class TokenSource(Protocol):
    """The token store as the client needs it."""

    async def access_token(self, shop_id: str) -> str: ...

    async def refresh(self, shop_id: str, stale: str) -> str:
        """A fresh token; `stale` lets concurrent callers refresh once between them."""
        ...


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    access_token_expire_in: int  # unix seconds at which the access token expires
    refresh_token: str
    refresh_token_expire_in: int
    open_id: str
    seller_name: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TokenGrant:
        return cls(
            access_token=str(data["access_token"]),
            access_token_expire_in=int(data["access_token_expire_in"]),
            refresh_token=str(data["refresh_token"]),
            refresh_token_expire_in=int(data["refresh_token_expire_in"]),
            open_id=str(data.get("open_id", "")),
            seller_name=str(data.get("seller_name", "")),
        )


Observer = Callable[[str, str, float], None]  # (endpoint, result, seconds)


def _no_observer(endpoint: str, result: str, seconds: float) -> None:
    return None


class TikTokClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        app_key: str,
        app_secret: str,
        api_base_url: str,
        auth_base_url: str,
        limiter: Limiter,
        tokens: TokenSource | None = None,
        max_retries: int = 6,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observe: Observer = _no_observer,
    ) -> None:
        self._http = http
        self._app_key = app_key
        self._app_secret = app_secret
        self._api = api_base_url.rstrip("/")
        self._auth = auth_base_url.rstrip("/")
        self._limiter = limiter
        self._tokens = tokens
        self._max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._observe = observe

    def use_tokens(self, tokens: TokenSource) -> None:
        """The token store refreshes through this client, so it is attached after both exist."""
        self._tokens = tokens

    # -- authorization (auth host, not signed: app secret in the query, as documented) ----------

    async def token_get(self, auth_code: str) -> TokenGrant:
        query = {
            "app_key": self._app_key,
            "app_secret": self._app_secret,
            "auth_code": auth_code,
            "grant_type": "authorized_code",
        }
        return TokenGrant.from_data(await self._auth_call("/api/v2/token/get", query, "token_get"))

    async def token_refresh(self, refresh_token: str) -> TokenGrant:
        query = {
            "app_key": self._app_key,
            "app_secret": self._app_secret,
            "refresh_token": refresh_token,
            "grant_type": "refresh_token",
        }
        data = await self._auth_call("/api/v2/token/refresh", query, "token_refresh")
        return TokenGrant.from_data(data)

    async def _auth_call(self, path: str, query: dict[str, str], endpoint: str) -> dict[str, Any]:
        for attempt in range(self._max_retries + 1):
            await self._limiter.acquire(None)
            started = time.perf_counter()
            try:
                response = await self._http.get(self._auth + path, params=query)
            except httpx.TransportError as exc:
                self._observe(endpoint, "transport_error", time.perf_counter() - started)
                if attempt == self._max_retries:
                    raise Unavailable(f"{endpoint}: {type(exc).__name__}") from exc
                await self._sleep(_backoff(attempt))
                continue
            body = _json(response)
            code = _code(body)
            if response.status_code == 429 or code in CODES_THROTTLED:
                self._observe(endpoint, "throttled", time.perf_counter() - started)
                self._limiter.throttled(None, _retry_after(response, attempt))
                continue
            if response.status_code >= 500:
                self._observe(endpoint, "server_error", time.perf_counter() - started)
                await self._sleep(_backoff(attempt))
                continue
            if code != CODE_OK:
                self._observe(endpoint, "refused", time.perf_counter() - started)
                # A refused refresh (revoked, expired refresh token) is final for that grant.
                raise AuthorizationLost(
                    f"{endpoint} refused: {body.get('message', '')}",
                    code=code,
                    request_id=str(body.get("request_id", "")),
                )
            self._observe(endpoint, "ok", time.perf_counter() - started)
            data = body.get("data")
            if not isinstance(data, dict):
                raise TikTokError(f"{endpoint}: answer without data")
            return data
        raise Unavailable(
            f"{endpoint}: still throttled or failing after {self._max_retries} retries"
        )

    # -- Open API -------------------------------------------------------------------------

    async def authorized_shops(self, access_token: str) -> list[dict[str, Any]]:
        data = await self._call(
            "GET", "/authorization/202309/shops", "authorized_shops", shop=None, token=access_token
        )
        shops = data.get("shops", [])
        return [s for s in shops if isinstance(s, dict)]

    async def search_orders(
        self,
        shop: ShopRef,
        *,
        update_time_ge: int,
        update_time_lt: int,
        page_token: str = "",
        page_size: int = MAX_PAGE_SIZE,
    ) -> dict[str, Any]:
        """One page, oldest update first: `{orders, next_page_token, total_count}`."""
        query = {
            "page_size": str(min(page_size, MAX_PAGE_SIZE)),
            "sort_field": "update_time",
            "sort_order": "ASC",
        }
        if page_token:
            query["page_token"] = page_token
        body = {"update_time_ge": update_time_ge, "update_time_lt": update_time_lt}
        return await self._call(
            "POST",
            "/order/202309/orders/search",
            "search_orders",
            shop=shop,
            query=query,
            body=body,
        )

    async def order_detail(self, shop: ShopRef, order_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not order_ids:
            return []
        if len(order_ids) > MAX_DETAIL_IDS:
            raise ValueError(f"Get Order Detail takes at most {MAX_DETAIL_IDS} ids")
        data = await self._call(
            "GET",
            "/order/202309/orders",
            "order_detail",
            shop=shop,
            query={"ids": ",".join(order_ids)},
        )
        return [o for o in data.get("orders", []) if isinstance(o, dict)]

    async def ship_package(
        self, shop: ShopRef, package_id: str, *, tracking_number: str, shipping_provider_id: str
    ) -> dict[str, Any]:
        body = {
            "handover_method": "DROP_OFF",
            "self_shipment": {
                "tracking_number": tracking_number,
                "shipping_provider_id": shipping_provider_id,
            },
        }
        return await self._call(
            "POST",
            f"/fulfillment/202309/packages/{package_id}/ship",
            "ship_package",
            shop=shop,
            body=body,
        )

    async def cancel_order(
        self, shop: ShopRef, order_id: str, *, cancel_reason: str
    ) -> dict[str, Any]:
        body = {"order_id": order_id, "cancel_reason": cancel_reason}
        return await self._call(
            "POST", "/return_refund/202309/cancellations", "cancel_order", shop=shop, body=body
        )

    async def _call(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        shop: ShopRef | None,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        shop_id = shop.shop_id if shop else None
        if token is None:
            if self._tokens is None or shop_id is None:
                raise ValueError("a shop-scoped call needs a token source")
            token = await self._tokens.access_token(shop_id)
        raw_body = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        refreshed = False
        attempt = 0
        while True:
            await self._limiter.acquire(shop_id)
            params = {"app_key": self._app_key, "timestamp": str(int(self._clock()))}
            if shop is not None:
                params["shop_cipher"] = shop.cipher
            params.update(query or {})
            params["sign"] = request_sign(self._app_secret, path, params, raw_body)
            headers = {"x-tts-access-token": token, "content-type": "application/json"}
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, self._api + path, params=params, content=raw_body, headers=headers
                )
            except httpx.TransportError as exc:
                self._observe(endpoint, "transport_error", time.perf_counter() - started)
                attempt += 1
                if attempt > self._max_retries:
                    raise Unavailable(f"{endpoint}: {type(exc).__name__}") from exc
                await self._sleep(_backoff(attempt))
                continue
            elapsed = time.perf_counter() - started
            payload = _json(response)
            code = _code(payload)
            request_id = str(payload.get("request_id", ""))
            message = str(payload.get("message", ""))
            if code == CODE_OK and response.status_code < 400:
                self._observe(endpoint, "ok", elapsed)
                data = payload.get("data")
                return data if isinstance(data, dict) else {}
            if response.status_code == 429 or code in CODES_THROTTLED:
                self._observe(endpoint, "throttled", elapsed)
                self._limiter.throttled(shop_id, _retry_after(response, attempt))
            elif code in CODES_TOKEN_EXPIRED or code in CODES_TOKEN_INVALID:
                self._observe(endpoint, "token_expired", elapsed)
                if refreshed or self._tokens is None or shop_id is None:
                    raise AuthorizationLost(
                        f"{endpoint}: access token refused after refresh: {message}",
                        code=code,
                        request_id=request_id,
                    )
                token = await self._tokens.refresh(shop_id, token)
                refreshed = True
                continue  # the retry after a refresh is not counted against the budget
            elif response.status_code >= 500:
                self._observe(endpoint, "server_error", elapsed)
                await self._sleep(_backoff(attempt))
            elif code in CODES_SHOP_UNAUTHORIZED:
                self._observe(endpoint, "unauthorized", elapsed)
                raise AuthorizationLost(
                    f"{endpoint}: shop no longer authorizes this app: {message}",
                    code=code,
                    request_id=request_id,
                )
            else:
                self._observe(endpoint, "refused", elapsed)
                raise InvalidRequest(
                    f"{endpoint} refused (HTTP {response.status_code}, code {code}): {message}",
                    code=code,
                    request_id=request_id,
                )
            attempt += 1
            if attempt > self._max_retries:
                raise Unavailable(
                    f"{endpoint}: throttled or failing after {self._max_retries} retries",
                    code=code,
                    request_id=request_id,
                )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _code(body: Mapping[str, Any]) -> int | None:
    code = body.get("code")
    try:
        return int(code) if code is not None else None
    except (TypeError, ValueError):
        return None


def _backoff(attempt: int) -> float:
    return float(min(30.0, 0.25 * 2**attempt))


def _retry_after(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    return _backoff(attempt)
