"""The TikTok client's error mapping and rate limiting, against an in-memory HTTP peer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from orderlens.tiktok_signing import request_sign_matches
from orderlens_connector.adapters.ratelimit import Limiter
from orderlens_connector.adapters.tiktok_client import (
    AuthorizationLost,
    InvalidRequest,
    ShopRef,
    TikTokClient,
    Unavailable,
)

pytestmark = pytest.mark.unit

SHOP = ShopRef("7000000000000000001", "ROW_cipher")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Tokens:
    def __init__(self) -> None:
        self.current = "tok-1"
        self.refreshes = 0

    async def access_token(self, shop_id: str) -> str:
        return self.current

    async def refresh(self, shop_id: str, stale: str) -> str:
        self.refreshes += 1
        self.current = f"tok-{self.refreshes + 1}"
        return self.current


def ok(data: dict[str, Any]) -> httpx.Response:
    return httpx.Response(
        200, json={"code": 0, "message": "Success", "data": data, "request_id": "r"}
    )


def make_client(
    handler: Callable[[httpx.Request], httpx.Response], clock: Clock, tokens: Tokens | None = None
) -> TikTokClient:
    return TikTokClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        app_key="key",
        app_secret="secret",
        api_base_url="http://tiktok.test",
        auth_base_url="http://auth.tiktok.test",
        limiter=Limiter(1000, 1000, clock=clock, sleep=clock.sleep),
        tokens=tokens or Tokens(),
        max_retries=3,
        clock=clock,
        sleep=clock.sleep,
    )


async def test_requests_are_signed_with_token_header_and_cipher() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"orders": [{"id": "576"}]})

    clock = Clock()
    orders = await make_client(handler, clock).order_detail(SHOP, ["576", "577"])
    assert orders == [{"id": "576"}]
    request = seen[0]
    query = dict(request.url.params)
    assert request.url.path == "/order/202309/orders"
    assert query["ids"] == "576,577"
    assert query["shop_cipher"] == "ROW_cipher"
    assert query["timestamp"] == "1700000000"
    assert "access_token" not in query
    assert request.headers["x-tts-access-token"] == "tok-1"
    assert request_sign_matches(
        "secret", request.url.path, query, request.content, "application/json"
    )


async def test_body_is_signed_as_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({"orders": [], "next_page_token": "", "total_count": 0})

    await make_client(handler, Clock()).search_orders(SHOP, update_time_ge=1, update_time_lt=2)
    request = seen[0]
    assert json.loads(request.content) == {"update_time_ge": 1, "update_time_lt": 2}
    query = dict(request.url.params)
    assert query["page_size"] == "100"
    assert request_sign_matches(
        "secret", request.url.path, query, request.content, "application/json"
    )


async def test_expired_token_is_refreshed_once_and_the_call_retried() -> None:
    tokens_seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tokens_seen.append(request.headers["x-tts-access-token"])
        if request.headers["x-tts-access-token"] == "tok-1":
            return httpx.Response(401, json={"code": 105002, "message": "Expired credentials"})
        return ok({"orders": []})

    tokens = Tokens()
    await make_client(handler, Clock(), tokens).order_detail(SHOP, ["1"])
    assert tokens_seen == ["tok-1", "tok-2"]
    assert tokens.refreshes == 1


async def test_token_refused_after_refresh_is_authorization_lost_not_a_loop() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(401, json={"code": 105002, "message": "Expired credentials"})

    tokens = Tokens()
    with pytest.raises(AuthorizationLost):
        await make_client(handler, Clock(), tokens).order_detail(SHOP, ["1"])
    assert (calls, tokens.refreshes) == (2, 1)


async def test_throttling_honours_retry_after_then_succeeds() -> None:
    answers = [
        httpx.Response(
            429, headers={"Retry-After": "3"}, json={"code": 36009003, "message": "rate"}
        ),
        ok({"orders": []}),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    clock = Clock()
    await make_client(handler, clock).order_detail(SHOP, ["1"])
    assert answers == []
    assert sum(clock.slept) >= 3.0


async def test_throttled_past_the_budget_is_unavailable() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, json={"code": 36009003, "message": "rate"})

    with pytest.raises(Unavailable):
        await make_client(handler, Clock()).order_detail(SHOP, ["1"])
    assert calls == 4  # the first attempt and three retries


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 36009001), (401, 106001), (422, 21011001)],
    ids=["param", "sign", "state"],
)
async def test_invalid_request_is_a_clear_error_never_retried(status: int, code: int) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, json={"code": code, "message": "nope", "request_id": "rq"})

    with pytest.raises(InvalidRequest) as caught:
        await make_client(handler, Clock()).cancel_order(SHOP, "1", cancel_reason="seller")
    assert calls == 1
    assert caught.value.code == code
    assert caught.value.request_id == "rq"


async def test_server_errors_are_retried() -> None:
    answers = [httpx.Response(503), ok({"orders": []})]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    await make_client(handler, Clock()).order_detail(SHOP, ["1"])
    assert answers == []


async def test_order_detail_refuses_more_than_50_ids() -> None:
    with pytest.raises(ValueError, match="50"):
        await make_client(lambda r: ok({}), Clock()).order_detail(SHOP, [str(i) for i in range(51)])


async def test_token_get_and_refused_refresh() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        if request.url.path == "/api/v2/token/get":
            assert query["grant_type"] == "authorized_code"
            return ok(
                {
                    "access_token": "a",
                    "access_token_expire_in": 1700003600,
                    "refresh_token": "r",
                    "refresh_token_expire_in": 1800000000,
                    "open_id": "o",
                    "seller_name": "Demo",
                }
            )
        return httpx.Response(200, json={"code": 36004004, "message": "invalid refresh token"})

    client = make_client(handler, Clock())
    grant = await client.token_get("code")
    assert (grant.access_token, grant.access_token_expire_in) == ("a", 1700003600)
    with pytest.raises(AuthorizationLost):
        await client.token_refresh("r")


async def test_shop_buckets_are_separate_and_throttle_pauses_one_shop() -> None:
    clock = Clock()
    limiter = Limiter(app_rate=100.0, shop_rate=1.0, clock=clock, sleep=clock.sleep)
    await limiter.acquire("a")
    await limiter.acquire("b")
    assert clock.now == 1_700_000_000.0  # different shops do not wait for each other
    limiter.throttled("a", 5.0)
    await limiter.acquire("b")
    assert clock.now - 1_700_000_000.0 == pytest.approx(1.0)  # b only waits for its own rate
    await limiter.acquire("a")
    assert clock.now - 1_700_000_000.0 >= 5.0
