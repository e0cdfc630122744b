"""The TikTok test stack: the TikTok Shop simulator and the tiktok-connector (its HTTP routes and
its three workers) served over real HTTP, order-ingest and query-api, all in this process, on
the test's Kafka topics and database. The simulator pushes signed webhooks to the connector; the
connector publishes to the test's orders.created; ingest stores; query-api answers.

The test reads TikTok's side with a signed client of its own grant (`detail`): Get Order Detail
over HTTP, as the connector calls it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from cryptography.fernet import Fernet

from orderlens.lifecycle import cancel_and_wait
from orderlens.normalise import normalise
from orderlens.roles import Role
from orderlens.tiktok import TikTokOrder
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens_connector.adapters.ratelimit import Limiter
from orderlens_connector.adapters.tiktok_client import ShopRef, TikTokClient
from orderlens_connector.app import (
    create_app as create_connector,
)
from orderlens_connector.app import (
    run_action_worker,
    run_notification_worker,
    run_sync_worker,
)
from orderlens_connector.settings import ConnectorSettings
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics
from orderlens_devtools.tiktok_simulator.app import Config, Simulator
from orderlens_devtools.tiktok_simulator.app import create_app as create_simulator
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings
from orderlens_query.app import create_app as create_query_api
from orderlens_query.presenters import detail, summary
from orderlens_query.settings import QueryApiSettings

KEY, SECRET = "e2e-app", "e2e-secret"
# What order-ingest adds to TikTok's snapshot (history, risk rules, its write time): not TikTok's.
INGEST_FIELDS = {"history", "risk_flags", "risk", "last_synced_at"}


class _Grant:
    def __init__(self, token: str) -> None:
        self.token = token

    async def access_token(self, shop_id: str) -> str:
        return self.token

    async def refresh(self, shop_id: str, stale: str) -> str:
        raise AssertionError("the test's own token does not expire")


@dataclass
class TikTokStack:
    sim: Simulator
    sim_url: str
    connector_url: str
    api: httpx.AsyncClient
    http: httpx.AsyncClient
    shop_id: str
    _tiktok: TikTokClient | None = None
    _shop: ShopRef | None = None

    def auth(self, role: Role = Role.OPERATIONS) -> dict[str, str]:
        token = mint_token(
            sub=f"e2e-{role}", role=role, shops=[self.shop_id], secret=LOCAL_DEV_SECRET
        )
        return {"Authorization": f"Bearer {token}"}

    async def detail(self, order_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Get Order Detail, signed, over HTTP, with the test's own grant."""
        if self._tiktok is None:
            consent = await self.http.get(
                f"{self.sim_url}/oauth/authorize", params={"app_key": KEY}
            )
            bootstrap = TikTokClient(
                self.http,
                app_key=KEY,
                app_secret=SECRET,
                api_base_url=self.sim_url,
                auth_base_url=self.sim_url,
                limiter=Limiter(5, 2),
            )
            grant = await bootstrap.token_get(consent.json()["data"]["code"])
            [shop] = [
                s
                for s in await bootstrap.authorized_shops(grant.access_token)
                if s["id"] == self.shop_id
            ]
            self._shop = ShopRef(self.shop_id, shop["cipher"])
            # Slow on purpose: the test's calls stay far inside the simulator's limits.
            self._tiktok = TikTokClient(
                self.http,
                app_key=KEY,
                app_secret=SECRET,
                api_base_url=self.sim_url,
                auth_base_url=self.sim_url,
                limiter=Limiter(5, 2),
                tokens=_Grant(grant.access_token),
            )
        assert self._shop is not None
        found: list[dict[str, Any]] = []
        for start in range(0, len(order_ids), 50):
            found += await self._tiktok.order_detail(self._shop, order_ids[start : start + 50])
        return found


def expected_views(shop_id: str, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """TikTok's order, normalised (docs/contract.md §3.3, §5), as the list row and the detail
    view show it, without what order-ingest adds; JSON as the API answers."""
    stored = normalise(shop_id, TikTokOrder.model_validate(raw), datetime.now(UTC))
    row = summary(stored.to_document(), Role.ADMIN).model_dump(mode="json")
    view = detail(stored, Role.ADMIN).model_dump(mode="json")
    return (
        {k: v for k, v in row.items() if k not in INGEST_FIELDS},
        {k: v for k, v in view.items() if k not in INGEST_FIELDS},
    )


def without_ingest_fields(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in INGEST_FIELDS}


@contextlib.asynccontextmanager
async def tiktok_stack(
    *,
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db_name: str,
    topics: TopicNames,
    unique_id: str,
    shop_name: str = "Demo TikTok shop",
    **simulator: Any,
) -> AsyncIterator[TikTokStack]:
    notifications = f"tiktok.notifications-{unique_id}"
    await ensure_topics(kafka_bootstrap_servers, [notifications], partitions=3)
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap_servers,
        "mongodb_uri": mongodb_uri,
        "mongodb_database": mongo_db_name,
        "topic_orders_created": topics.created,
        "topic_status_changed": topics.status_changed,
        "topic_dead_letter": topics.dead_letter,
        "log_json": False,
    }
    connector_port, sim_port = free_port(), free_port()
    connector_url = f"http://127.0.0.1:{connector_port}"
    sim_url = f"http://127.0.0.1:{sim_port}"
    config = Config(
        app_key=KEY,
        app_secret=SECRET,
        webhook_url=f"{connector_url}/webhooks/tiktok",
        **simulator,
    )
    sim = Simulator(config)
    shop = sim.state.add_shop(shop_name)
    keys = Fernet.generate_key().decode()
    settings = ConnectorSettings(
        **common,
        http_port=connector_port,
        topic_tiktok_notifications=notifications,
        tiktok_app_key=KEY,
        tiktok_app_secret=SECRET,  # type: ignore[arg-type]
        tiktok_api_base_url=sim_url,
        tiktok_auth_base_url=sim_url,
        tiktok_authorize_url=f"{sim_url}/oauth/authorize",
        oauth_redirect_url=f"{connector_url}/oauth/tiktok/callback",
        sync_poll_seconds=0.2,
        reconcile_seconds=3600,
        actions_group_id=f"actions-{unique_id}",
    )
    ingest = IngestApp(
        IngestSettings(
            **common, http_port=0, ingest_group_id=f"ingest-{unique_id}", ingest_batch_timeout_ms=50
        )
    )
    query_api = create_query_api(QueryApiSettings(**common, http_port=8000))
    await ingest.start()
    workers: list[asyncio.Task[None]] = []
    try:
        async with (
            serve(create_simulator(config, sim), sim_port),
            serve(create_connector(settings, keys), connector_port),
            LifespanManager(query_api, startup_timeout=60, shutdown_timeout=60) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://e2e"
            ) as api,
            httpx.AsyncClient(timeout=10) as http,
        ):
            workers = [
                asyncio.create_task(run(settings, keys))
                for run in (run_notification_worker, run_sync_worker, run_action_worker)
            ]
            yield TikTokStack(sim, sim_url, connector_url, api, http, shop.id)
    finally:
        assert not await cancel_and_wait(*workers), "a connector worker did not stop"
        await ingest.stop()
        await delete_topics(kafka_bootstrap_servers, [notifications])
