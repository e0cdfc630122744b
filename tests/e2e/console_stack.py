"""The console's test stack: order-ingest, the exporter, query-api and the console (the two
web apps served over real HTTP by uvicorn) in this process, on the test's Kafka topics and
database, with seeded orders published to Kafka; and headless Debian Chromium (Playwright).

query-api trusts the console's own signing key (its JWKS, docs/decisions/0150) in every mode.
With `production=True` it is configured as in deploy/k8s/overlays/prod: no shared secret, only
RS256/ES256 from the identity provider's JWKS (a `DevIdentityProvider` served here) and the
console's; the console signs users in through that provider (OIDC) and has no demo sign-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from orderlens.events import encode
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, TrustedIssuer, mint_token
from orderlens.waiting import wait_for
from orderlens_console.app import create_app as create_console
from orderlens_console.settings import ConsoleSettings
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.oidc_provider import DevIdentityProvider
from orderlens_devtools.seed import SeedConfig, created_event, iter_orders, shop_ids
from orderlens_exporter.app import build as build_exporter
from orderlens_exporter.settings import ExporterSettings
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings
from orderlens_query.app import create_app as create_query_api
from orderlens_query.settings import QueryApiSettings

SEED = SeedConfig(orders=60, shops=2, seed=31, days=20, end=datetime(2026, 4, 1, tzinfo=UTC))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "console"
API_AUDIENCE = "orderlens-query-api"
CLIENT_ID = "orderlens-console"


def token(role: Role) -> str:
    value: str = mint_token(
        sub=f"e2e-{role}", role=role, shops=shop_ids(SEED), secret=LOCAL_DEV_SECRET
    )
    return value


def idp_claims(role: Role) -> dict[str, Any]:
    """What the identity provider says about a user (orderlens claim names)."""
    shops = shop_ids(SEED)
    return {"sub": f"e2e-{role}", "name": f"E2E {role}", "role": role.value, "shops": shops}


@dataclass
class Stack:
    api_url: str
    console_url: str
    topics: TopicNames
    bootstrap: str
    idp: DevIdentityProvider | None = field(default=None)

    def token(self, role: Role) -> str:
        """A token query-api accepts: in production mode only the identity provider's."""
        if self.idp is not None:
            return self.idp.mint(idp_claims(role), audience=API_AUDIENCE)
        return token(role)

    async def api_get(self, path: str, params: Any = None, role: Role = Role.ADMIN) -> Any:
        async with httpx.AsyncClient(base_url=self.api_url, timeout=60) as client:
            response = await client.get(
                path, params=params, headers={"Authorization": f"Bearer {self.token(role)}"}
            )
            assert response.status_code == 200, response.text
            return response.json()


async def publish_seed(bootstrap: str, topic: str) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        count = 0
        for seed_order in iter_orders(SEED):
            event = created_event(seed_order, final=True)
            await producer.send(topic, encode(event), key=event.subject.encode())
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count


async def publish(bootstrap: str, topic: str, event: Any) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, encode(event), key=event.subject.encode())
    finally:
        await producer.stop()


async def publish_created(bootstrap: str, topic: str, seed_order: Any) -> None:
    await publish(bootstrap, topic, created_event(seed_order, final=True))


@asynccontextmanager
async def console_stack(
    bootstrap: str,
    mongodb_uri: str,
    db_name: str,
    topics: TopicNames,
    unique_id: str,
    export_dir: Path,
    *,
    production: bool = False,
    outbox: Path | None = None,
) -> AsyncIterator[Stack]:
    common: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "mongodb_uri": mongodb_uri,
        "mongodb_database": db_name,
        "topic_orders_created": topics.created,
        "topic_status_changed": topics.status_changed,
        "topic_export_requested": topics.export_requested,
        "topic_export_completed": topics.export_completed,
        "topic_dead_letter": topics.dead_letter,
        "export_dir": export_dir,
        "log_json": False,
        # Every service's own HTTP port is picked by the OS: a test never takes a fixed port.
        "http_port": 0,
    }
    ingest = IngestApp(IngestSettings(**common, ingest_group_id=f"ingest-{unique_id}"))
    api_port, console_port, idp_port = free_port(), free_port(), free_port()
    console_url = f"http://localhost:{console_port}"
    # query-api fetches the console's public keys from the console itself, like in a cluster.
    trusts_console = TrustedIssuer(
        issuer=console_url,
        jwks_url=f"http://127.0.0.1:{console_port}/.well-known/jwks.json",
        audience=API_AUDIENCE,
        max_lifetime_seconds=900,
    )
    idp = DevIdentityProvider(CLIENT_ID, url=f"http://127.0.0.1:{idp_port}") if production else None
    auth: dict[str, Any] = {"jwt_trusted_issuers": (trusts_console,)}
    console_auth: dict[str, Any] = {"dev_sign_in": True, "dev_shops": ",".join(shop_ids(SEED))}
    if idp is not None:
        auth |= {
            "jwt_secret": None,
            "jwt_algorithms": "RS256,ES256",
            "jwt_jwks_url": f"{idp.url}/jwks",
            "jwt_issuer": idp.url,
            "jwt_audience": API_AUDIENCE,
            "api_docs": False,
        }
        console_auth = {
            "oidc_issuer": idp.url,
            "oidc_client_id": CLIENT_ID,
            "oidc_role_claim": "role",
            "oidc_shops_claim": "shops",
            "api_signing_key": signing_key_pem(),
        }
    # Buyer links point at this console's landing page; buyer mail goes to `outbox`.
    mail = {"mail_outbox_dir": str(outbox)} if outbox is not None else {}
    query_api = create_query_api(
        QueryApiSettings(
            **common, **auth, **mail, query_max_time_ms=120_000, console_public_url=console_url
        )
    )
    exporter = build_exporter(ExporterSettings(**common, export_poll_seconds=0.2), owner="e2e")
    await ingest.start()
    await exporter.start()
    try:
        async with AsyncExitStack() as servers:
            if idp is not None:
                await servers.enter_async_context(serve(idp.app(), idp_port))
            api_url = await servers.enter_async_context(serve(query_api, api_port))
            console = create_console(
                ConsoleSettings(query_api_url=api_url, public_url=console_url, **console_auth)
            )
            await servers.enter_async_context(serve(console, console_port))
            stack = Stack(api_url, console_url, topics, bootstrap, idp)
            published = await publish_seed(bootstrap, topics.created)

            async def all_stored() -> bool:
                return bool((await stack.api_get("/v1/orders/counts"))["total"] >= published)

            await wait_for(all_stored, 180, "order-ingest stores every seeded order", every=0.5)
            yield stack
    finally:
        await exporter.stop()
        await ingest.stop()


def signing_key_pem() -> str:
    """A P-256 key in PEM, as the operator's Secret holds it (CONSOLE_API_SIGNING_KEY)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()
