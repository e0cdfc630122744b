"""The simulator's HTTP API: TikTok's documented endpoints plus `/_sim/*` controls for tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from orderlens.ratelimit import TokenBucket
from orderlens.tiktok_signing import request_sign_matches, webhook_signature
from orderlens_devtools.carrier_simulator.limits import retry_after_header

from .state import SELLER_DEAUTHORIZATION, SimState

TIMESTAMP_TOLERANCE = 300


@dataclass
class Config:
    app_key: str = "orderlens-dev"
    app_secret: str = "orderlens-dev-secret"
    webhook_url: str | None = None
    redirect_url: str | None = None
    app_rate: float = 50.0
    shop_rate: float = 20.0
    duplicate_rate: float = 0.1  # share of webhooks sent twice
    late_rate: float = 0.1  # share held back and sent after later ones
    tick_seconds: float = 0.0  # 0: orders progress only when /_sim/tick is called
    webhook_senders: int = 1  # webhooks in flight at once (TikTok pushes many in parallel)
    # How long an unanswered webhook is retried. TikTok retries over hours; a restarting
    # receiver under load can take tens of seconds, which must not lose a notification here.
    webhook_retry_seconds: float = 300.0


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    over_limit: int = 0
    bad_signature: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0


def ok(data: Any) -> JSONResponse:
    return JSONResponse(
        {"code": 0, "message": "Success", "data": data, "request_id": secrets.token_hex(8)}
    )


def fail(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "message": message, "data": None, "request_id": secrets.token_hex(8)}
    return JSONResponse(body, status_code=status, headers=headers)


class Simulator:
    def __init__(self, config: Config, state: SimState | None = None) -> None:
        self.config = config
        self.state = state or SimState(config.app_key, config.app_secret)
        self.stats = Stats()
        self.app_bucket = TokenBucket(config.app_rate)
        self.shop_buckets: dict[str, TokenBucket] = {}
        self.outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.rng = random.Random(11)
        self._held: list[bytes] = []
        # Test hook: awaited once an action took effect and before TikTok answers it, to crash
        # the caller exactly between TikTok's answer and the caller's record of it.
        self.after_action: Callable[[str], Awaitable[None]] | None = None

    # -- checks every Open API request passes, in TikTok's order ---------------------------

    async def _check(
        self, request: Request, *, shop_scoped: bool
    ) -> tuple[Response | None, list[str], str | None]:
        query = dict(request.query_params)
        body = await request.body()
        self.stats.requests[request.url.path.split("/")[1]] += 1
        if query.get("app_key") != self.config.app_key:
            return fail(401, 106002, "Invalid app_key"), [], None
        content_type = request.headers.get("content-type", "")
        if not request_sign_matches(
            self.config.app_secret, request.url.path, query, body, content_type
        ):
            self.stats.bad_signature += 1
            return fail(401, 106001, "Invalid credentials. The 'sign' is invalid."), [], None
        try:
            stamp = int(query.get("timestamp", ""))
        except ValueError:
            stamp = 0
        if abs(self.state.now() - stamp) > TIMESTAMP_TOLERANCE:
            return fail(401, 106003, "Invalid timestamp"), [], None
        token = self.state.access_tokens.get(request.headers.get("x-tts-access-token", ""))
        if token is None:
            return fail(401, 105001, "Invalid access token"), [], None
        if token.expires_at <= self.state.now():
            return fail(401, 105002, "Expired credentials"), [], None
        shop_id = None
        if shop_scoped:
            cipher = query.get("shop_cipher", "")
            shop = next((s for s in self.state.shops.values() if s.cipher == cipher), None)
            if shop is None or shop.id not in token.shop_ids or not shop.authorized:
                return fail(403, 105005, "Shop not authorized for this token"), [], None
            shop_id = shop.id
        wait = self.app_bucket.try_take()
        if not wait and shop_id is not None:
            bucket = self.shop_buckets.setdefault(shop_id, TokenBucket(self.config.shop_rate))
            wait = bucket.try_take()
        if wait:
            self.stats.over_limit += 1
            return (
                fail(429, 36009003, "Too many requests", {"Retry-After": retry_after_header(wait)}),
                [],
                None,
            )
        return None, token.shop_ids, shop_id

    # -- authorization -----------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """The seller's consent page, approved at once for the shops named (default: all)."""
        query = request.query_params
        if query.get("app_key") != self.config.app_key:
            return fail(400, 106002, "Invalid app_key")
        wanted = [s for s in query.get("shop_ids", "").split(",") if s] or list(self.state.shops)
        code = self.state.issue_auth_code(wanted)
        target = self.config.redirect_url or query.get("redirect_uri")
        if not target:
            return ok({"code": code, "state": query.get("state", "")})
        separator = "&" if "?" in target else "?"
        params = urlencode({"code": code, "state": query.get("state", "")})
        return RedirectResponse(f"{target}{separator}{params}", status_code=302)

    async def token_get(self, request: Request) -> Response:
        query = request.query_params
        if (query.get("app_key"), query.get("app_secret")) != (
            self.config.app_key,
            self.config.app_secret,
        ):
            return fail(200, 36004003, "Invalid app_key or app_secret")
        if query.get("grant_type") != "authorized_code":
            return fail(200, 36004002, "Invalid grant_type")
        shops = self.state.auth_codes.pop(query.get("auth_code", ""), None)
        if shops is None:
            return fail(200, 36004005, "Invalid or used auth_code")
        return ok(self.state.grant(shops))

    async def token_refresh(self, request: Request) -> Response:
        query = request.query_params
        if query.get("app_secret") != self.config.app_secret:
            return fail(200, 36004003, "Invalid app_key or app_secret")
        token = self.state.refresh_tokens.pop(query.get("refresh_token", ""), None)
        if token is None or token.expires_at <= self.state.now() or not token.shop_ids:
            return fail(200, 36004004, "Invalid refresh_token")
        return ok(self.state.grant(token.shop_ids))

    async def shops(self, request: Request) -> Response:
        refused, shop_ids, _ = await self._check(request, shop_scoped=False)
        if refused:
            return refused
        shops = [
            {
                "id": s.id,
                "name": s.name,
                "region": s.region,
                "seller_type": "LOCAL",
                "cipher": s.cipher,
                "code": "GB" + s.id[-6:],
            }
            for s in (self.state.shops[i] for i in shop_ids)
            if s.authorized
        ]
        return ok({"shops": shops})

    # -- orders ----------------------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        refused, _, shop_id = await self._check(request, shop_scoped=True)
        if refused or shop_id is None:
            return refused or fail(403, 105005, "no shop")
        try:
            size = int(request.query_params.get("page_size", "20"))
            filters = json.loads(await request.body() or b"{}")
        except ValueError:
            return fail(400, 36009001, "Invalid request parameters")
        if not 1 <= size <= 100:
            return fail(400, 36009001, "page_size must be 1-100")
        found = self.state.search(
            shop_id, filters.get("update_time_ge"), filters.get("update_time_lt")
        )
        after = request.query_params.get("page_token")
        if after:
            # The token is a cursor (update_time, id): an order updated meanwhile moves behind it
            # and is found again later, never skipped.
            last = tuple(json.loads(base64.urlsafe_b64decode(after)))
            found = [o for o in found if (o["update_time"], o["id"]) > (last[0], last[1])]
        page = found[:size]
        next_token = ""
        if len(found) > size:
            tail = page[-1]
            next_token = base64.urlsafe_b64encode(
                json.dumps([tail["update_time"], tail["id"]]).encode()
            ).decode()
        return ok({"orders": page, "next_page_token": next_token, "total_count": len(found)})

    async def detail(self, request: Request) -> Response:
        refused, _, shop_id = await self._check(request, shop_scoped=True)
        if refused:
            return refused
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 50:
            return fail(400, 36009001, "ids: 1 to 50 order ids")
        orders = [
            self.state.orders[i]
            for i in ids
            if i in self.state.orders and self.state.order_shop[i] == shop_id
        ]
        return ok({"orders": orders})

    async def ship(self, request: Request) -> Response:
        refused, _, _shop = await self._check(request, shop_scoped=True)
        if refused:
            return refused
        body = json.loads(await request.body() or b"{}")
        shipment = body.get("self_shipment") or {}
        package_id = request.path_params["package_id"]
        self.state.ship_requests.append({"package_id": package_id, **body})
        order = self.state.ship(
            package_id,
            str(shipment.get("tracking_number", "")),
            str(shipment.get("shipping_provider_id", "")),
        )
        if order is None:
            return fail(422, 21011001, "Package status does not allow shipping")
        self.notify(1, order)
        if self.after_action is not None:
            await self.after_action("ship")
        return ok({})

    async def cancel(self, request: Request) -> Response:
        refused, _, _shop = await self._check(request, shop_scoped=True)
        if refused:
            return refused
        body = json.loads(await request.body() or b"{}")
        self.state.cancel_requests.append(body)
        order = self.state.cancel(str(body.get("order_id", "")), str(body.get("cancel_reason", "")))
        if order is None:
            return fail(422, 21011002, "Order status does not allow cancellation")
        self.notify(11, order)
        self.notify(1, order)
        return ok(
            {"cancel_id": secrets.token_hex(8), "cancel_status": "CANCELLATION_REQUEST_SUCCESS"}
        )

    # -- webhooks --------------------------------------------------------------------------

    def notify(self, kind: int, order: dict[str, Any] | None, shop_id: str | None = None) -> None:
        if order is not None:
            shop_id = self.state.order_shop[order["id"]]
            data: dict[str, Any] = {
                "order_id": order["id"],
                "order_status": order["status"],
                "update_time": order["update_time"],
            }
        else:
            data = {"shop_id": shop_id}
        body = json.dumps(
            {
                "type": kind,
                "tts_notification_id": secrets.token_hex(10),
                "shop_id": shop_id,
                "timestamp": self.state.now(),
                "data": data,
            },
            separators=(",", ":"),
        ).encode()
        copies = 2 if self.rng.random() < self.config.duplicate_rate else 1
        for _ in range(copies):
            if self.rng.random() < self.config.late_rate:
                self._held.append(body)  # late: goes out after the next one, out of order
            else:
                self.outbox.put_nowait(body)
                while self._held:
                    self.outbox.put_nowait(self._held.pop())

    def flush_late(self) -> None:
        while self._held:
            self.outbox.put_nowait(self._held.pop())

    async def deliver_forever(self) -> None:
        async with httpx.AsyncClient(timeout=5.0) as http:
            while True:
                body = await self.outbox.get()
                if not self.config.webhook_url:
                    continue
                signature = webhook_signature(self.config.app_key, self.config.app_secret, body)
                give_up = time.monotonic() + self.config.webhook_retry_seconds
                attempt = 0
                while True:
                    try:
                        answer = await http.post(
                            self.config.webhook_url,
                            content=body,
                            headers={
                                "Authorization": signature,
                                "Content-Type": "application/json",
                            },
                        )
                        if answer.status_code == 200:
                            self.stats.webhooks_sent += 1
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > give_up:
                        self.stats.webhooks_failed += 1
                        break
                    await asyncio.sleep(min(5.0, 0.2 * 2**attempt))
                    attempt += 1

    async def tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_seconds)
            self.tick()

    def tick(self) -> int:
        sent = 0
        for shop in list(self.state.shops.values()):
            if shop.authorized:
                for kind, order in self.state.progress(shop.id):
                    self.notify(kind, order)
                    sent += 1
        return sent

    # -- controls for tests and the dev stack ----------------------------------------------

    async def sim_add_shop(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        shop = self.state.add_shop(str(body.get("name", "Demo shop")))
        return JSONResponse({"id": shop.id, "cipher": shop.cipher, "name": shop.name})

    async def sim_add_orders(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        shop_id = str(body["shop_id"])
        created = [
            self.state.new_order(shop_id, units=int(body.get("units", 2)))
            for _ in range(int(body.get("count", 1)))
        ]
        if body.get("notify", True):
            for order in created:
                self.notify(1, order)
        return JSONResponse({"ids": [o["id"] for o in created]})

    async def sim_tick(self, request: Request) -> Response:
        steps = int(request.query_params.get("steps", "1"))
        return JSONResponse({"notified": sum(self.tick() for _ in range(steps))})

    async def sim_order(self, request: Request) -> Response:
        order = self.state.orders.get(request.path_params["order_id"])
        return JSONResponse(order) if order else JSONResponse({}, status_code=404)

    async def sim_status(self, request: Request) -> Response:
        body = json.loads(await request.body())
        order = self.state.orders[request.path_params["order_id"]]
        self.state.set_status(order, str(body["status"]))
        self.notify(1, order)
        return JSONResponse(order)

    async def sim_expire(self, request: Request) -> Response:
        self.state.expire_access_tokens()
        return JSONResponse({})

    async def sim_deauthorize(self, request: Request) -> Response:
        shop_id = request.path_params["shop_id"]
        self.state.deauthorize(shop_id)
        self.notify(SELLER_DEAUTHORIZATION, None, shop_id)
        return JSONResponse({})

    async def sim_stats(self, request: Request) -> Response:
        return JSONResponse(
            {
                "requests": dict(self.stats.requests),
                "over_limit": self.stats.over_limit,
                "bad_signature": self.stats.bad_signature,
                "webhooks_sent": self.stats.webhooks_sent,
                "webhooks_failed": self.stats.webhooks_failed,
                "webhooks_pending": self.outbox.qsize() + len(self._held),
                "ship_requests": len(self.state.ship_requests),
                "cancel_requests": len(self.state.cancel_requests),
            }
        )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def sim_flush(self, request: Request) -> Response:
        self.flush_late()
        return JSONResponse({})


def create_app(config: Config, simulator: Simulator | None = None) -> Starlette:
    sim = simulator or Simulator(config)
    tasks: list[asyncio.Task[None]] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks.extend(
            asyncio.create_task(sim.deliver_forever()) for _ in range(config.webhook_senders)
        )
        if config.tick_seconds > 0:
            tasks.append(asyncio.create_task(sim.tick_forever()))
        yield
        for task in tasks:
            task.cancel()

    routes = [
        Route("/oauth/authorize", sim.authorize),
        Route("/api/v2/token/get", sim.token_get),
        Route("/api/v2/token/refresh", sim.token_refresh),
        Route("/authorization/202309/shops", sim.shops),
        Route("/order/202309/orders/search", sim.search, methods=["POST"]),
        Route("/order/202309/orders", sim.detail),
        Route("/fulfillment/202309/packages/{package_id}/ship", sim.ship, methods=["POST"]),
        Route("/return_refund/202309/cancellations", sim.cancel, methods=["POST"]),
        Route("/_sim/shops", sim.sim_add_shop, methods=["POST"]),
        Route("/_sim/orders", sim.sim_add_orders, methods=["POST"]),
        Route("/_sim/orders/{order_id}", sim.sim_order),
        Route("/_sim/orders/{order_id}/status", sim.sim_status, methods=["POST"]),
        Route("/_sim/tick", sim.sim_tick, methods=["POST"]),
        Route("/_sim/expire-tokens", sim.sim_expire, methods=["POST"]),
        Route("/_sim/shops/{shop_id}/deauthorize", sim.sim_deauthorize, methods=["POST"]),
        Route("/_sim/flush", sim.sim_flush, methods=["POST"]),
        Route("/_sim/stats", sim.sim_stats),
        Route("/healthz", sim.healthz),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.simulator = sim
    return app
