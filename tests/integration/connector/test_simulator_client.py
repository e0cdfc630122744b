"""The connector's signed client against the TikTok Shop simulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from conn_support import serve, stop
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderlens.tiktok import TikTokOrder
from orderlens.tiktok_signing import webhook_signature_matches
from orderlens_connector.adapters.ratelimit import Limiter
from orderlens_connector.adapters.tiktok_client import (
    AuthorizationLost,
    InvalidRequest,
    ShopRef,
    TikTokClient,
    TokenGrant,
)
from orderlens_devtools.devstack.proc import wait_until

pytestmark = pytest.mark.integration

KEY, SECRET = "app-key-1", "app-secret-1"


class GrantStore:
    """The client's token source over one grant, refreshing through the client itself."""

    def __init__(self, grant: TokenGrant) -> None:
        self.grant = grant
        self.client: TikTokClient | None = None
        self.refreshes = 0

    async def access_token(self, shop_id: str) -> str:
        return self.grant.access_token

    async def refresh(self, shop_id: str, stale: str) -> str:
        assert self.client is not None
        if stale == self.grant.access_token:
            self.grant = await self.client.token_refresh(self.grant.refresh_token)
            self.refreshes += 1
        return self.grant.access_token


async def connect(url: str, *, app_rate: float = 40.0, shop_rate: float = 10.0) -> Any:
    http = httpx.AsyncClient(timeout=10)
    bootstrap = TikTokClient(
        http,
        app_key=KEY,
        app_secret=SECRET,
        api_base_url=url,
        auth_base_url=url,
        limiter=Limiter(app_rate, shop_rate),
    )
    answer = await http.get(f"{url}/oauth/authorize", params={"app_key": KEY, "state": "s1"})
    code = answer.json()["data"]["code"]
    grant = await bootstrap.token_get(code)
    shops = await bootstrap.authorized_shops(grant.access_token)
    store = GrantStore(grant)
    client = TikTokClient(
        http,
        app_key=KEY,
        app_secret=SECRET,
        api_base_url=url,
        auth_base_url=url,
        limiter=Limiter(app_rate, shop_rate),
        tokens=store,
    )
    store.client = client
    return client, store, shops, http


async def test_oauth_search_pages_detail_ship_and_cancel(simulator_factory: Any) -> None:
    running = await simulator_factory(app_key=KEY, app_secret=SECRET)
    shop = running.sim.state.add_shop("Demo")
    orders = [running.sim.state.new_order(shop.id) for _ in range(230)]
    client, _store, shops, http = await connect(running.url)
    assert [(s["id"], s["cipher"]) for s in shops] == [(shop.id, shop.cipher)]
    ref = ShopRef(shop.id, shop.cipher)

    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await client.search_orders(
            ref, update_time_ge=0, update_time_lt=2**31, page_token=token
        )
        pages += 1
        seen += [o["id"] for o in page["orders"]]
        token = page["next_page_token"]
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == sorted(o["id"] for o in orders)

    details = await client.order_detail(ref, seen[:50])
    assert [d["id"] for d in details] == seen[:50]
    for detail in details:
        TikTokOrder.model_validate(detail)  # the shared wire model accepts what the simulator says
        assert len(detail["id"]) == 19
        assert isinstance(detail["create_time"], int)

    target = running.sim.state.orders[seen[0]]
    await client.ship_package(
        ref, target["packages"][0]["id"], tracking_number="TRK1", shipping_provider_id="royal-mail"
    )
    assert running.sim.state.orders[seen[0]]["status"] == "AWAITING_COLLECTION"
    with pytest.raises(InvalidRequest) as refused:
        await client.cancel_order(ref, seen[0], cancel_reason="seller")
    assert refused.value.code == 21011002
    await client.cancel_order(ref, seen[1], cancel_reason="out of stock")
    assert running.sim.state.orders[seen[1]]["status"] == "CANCELLED"
    assert running.sim.stats.over_limit == 0
    assert running.sim.stats.bad_signature == 0
    await http.aclose()


async def test_wrong_signature_is_refused_like_tiktok(simulator_factory: Any) -> None:
    running = await simulator_factory(app_key=KEY, app_secret=SECRET)
    running.sim.state.add_shop("Demo")
    _client, store, _shops, http = await connect(running.url)
    answer = await http.get(
        f"{running.url}/authorization/202309/shops",
        params={"app_key": KEY, "timestamp": str(running.sim.state.now()), "sign": "0" * 64},
        headers={"x-tts-access-token": store.grant.access_token},
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == 106001
    assert running.sim.stats.bad_signature == 1
    await http.aclose()


async def test_expired_token_is_refreshed_and_the_call_goes_through(simulator_factory: Any) -> None:
    running = await simulator_factory(app_key=KEY, app_secret=SECRET)
    shop = running.sim.state.add_shop("Demo")
    order = running.sim.state.new_order(shop.id)
    client, store, _shops, http = await connect(running.url)
    running.sim.state.expire_access_tokens()
    details = await client.order_detail(ShopRef(shop.id, shop.cipher), [order["id"]])
    assert [d["id"] for d in details] == [order["id"]]
    assert store.refreshes == 1
    await http.aclose()


async def test_revoked_shop_refresh_fails_for_good(simulator_factory: Any) -> None:
    running = await simulator_factory(app_key=KEY, app_secret=SECRET)
    shop = running.sim.state.add_shop("Demo")
    order = running.sim.state.new_order(shop.id)
    client, _store, _shops, http = await connect(running.url)
    running.sim.state.deauthorize(shop.id)
    running.sim.state.expire_access_tokens()
    with pytest.raises(AuthorizationLost):
        await client.order_detail(ShopRef(shop.id, shop.cipher), [order["id"]])
    await http.aclose()


async def test_client_buckets_keep_a_burst_under_the_simulator_limit(
    simulator_factory: Any,
) -> None:
    running = await simulator_factory(app_key=KEY, app_secret=SECRET, app_rate=20, shop_rate=10)
    shop = running.sim.state.add_shop("Demo")
    order = running.sim.state.new_order(shop.id)
    client, _store, _shops, http = await connect(running.url, app_rate=15, shop_rate=8)
    ref = ShopRef(shop.id, shop.cipher)
    await asyncio.gather(*(client.order_detail(ref, [order["id"]]) for _ in range(40)))
    assert running.sim.stats.requests["order"] == 40
    assert running.sim.stats.over_limit == 0
    await http.aclose()


async def test_simulator_over_limit_answers_are_counted_and_honoured(
    simulator_factory: Any,
) -> None:
    running = await simulator_factory(app_key=KEY, app_secret=SECRET, app_rate=20, shop_rate=5)
    shop = running.sim.state.add_shop("Demo")
    order = running.sim.state.new_order(shop.id)
    # A client that believes it may send far more than the shop allows.
    client, _store, _shops, http = await connect(running.url, app_rate=1000, shop_rate=1000)
    ref = ShopRef(shop.id, shop.cipher)
    results = await asyncio.gather(*(client.order_detail(ref, [order["id"]]) for _ in range(12)))
    assert all(r[0]["id"] == order["id"] for r in results)  # every call got through in the end
    assert running.sim.stats.over_limit > 0
    await http.aclose()


async def test_webhooks_are_signed_and_pushed(simulator_factory: Any) -> None:
    received: list[tuple[bytes, str]] = []

    async def hook(request: Request) -> Response:
        received.append((await request.body(), request.headers.get("authorization", "")))
        return Response(status_code=200)

    server, task, hook_url = await serve(Starlette(routes=[Route("/h", hook, methods=["POST"])]))
    running = await simulator_factory(
        app_key=KEY, app_secret=SECRET, webhook_url=f"{hook_url}/h", duplicate_rate=0.5
    )
    shop = running.sim.state.add_shop("Demo")
    orders = [running.sim.state.new_order(shop.id) for _ in range(20)]
    for order in orders:
        running.sim.notify(1, order)
    running.sim.flush_late()

    def all_arrived() -> bool:
        order_ids = {json.loads(body)["data"]["order_id"] for body, _ in received}
        return running.sim.outbox.qsize() == 0 and len(order_ids) == 20

    await asyncio.to_thread(wait_until, all_arrived, timeout=20, what="every webhook delivered")
    assert all(webhook_signature_matches(KEY, SECRET, body, sig) for body, sig in received)
    ids = [json.loads(body)["tts_notification_id"] for body, _ in received]
    assert len(ids) > len(set(ids))  # some were sent twice, with the same notification id
    await stop(server, task)
