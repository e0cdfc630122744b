"""Webhook subscriptions through query-api over real HTTP (docs/contract.md §3.7): admin only,
scoped by the token's shops, URLs checked, the secret shown once; then the dispatcher delivers
to the subscribed URL, parks what fails, and the admin API's replay delivers it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from wh_support import StartDispatcher

from orderlens.events import EventType
from orderlens.roles import Role
from orderlens.tokens import LOCAL_DEV_SECRET, mint_token
from orderlens.waiting import wait_for
from orderlens_devtools.asgi import free_port, serve
from orderlens_devtools.devstack import TopicNames
from orderlens_devtools.webhook_receiver import (
    Receiver,
    order_created,
    publish,
    receivers,
    status_changed,
)
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

pytestmark = pytest.mark.integration

NO_KAFKA = "127.0.0.1:1"  # subscriptions need no broker
BASE = "/v1/webhook-subscriptions"
CREATED, CHANGED = EventType.ORDER_CREATED.value, EventType.STATUS_CHANGED.value


class Api:
    def __init__(self, client: httpx.AsyncClient, shops: list[str]) -> None:
        self.client = client
        self.shops = shops

    def auth(self, role: Role = Role.ADMIN, shops: list[str] | None = None) -> dict[str, str]:
        extra = {"buyer_user_id": "buyer-1"} if role == Role.BUYER else {}
        token = mint_token(
            sub=f"test-{role.value}",
            role=role,
            shops=shops or self.shops,
            secret=LOCAL_DEV_SECRET,
            **extra,
        )
        return {"Authorization": f"Bearer {token}"}

    async def create(self, shop: str, url: str, **body: Any) -> httpx.Response:
        payload = {"shop_id": shop, "url": url, "event_types": [CREATED, CHANGED], **body}
        return await self.client.post(BASE, json=payload, headers=self.auth())


async def _serve(settings: QueryApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serve(create_app(settings), free_port()) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as client,
    ):
        yield client


def _settings(mongodb_uri: str, db: Any, **overrides: Any) -> QueryApiSettings:
    return QueryApiSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=db.name,
        kafka_bootstrap_servers=NO_KAFKA,
        log_json=False,
        **overrides,
    )


@pytest_asyncio.fixture
async def strict_api(mongodb_uri: str, mongo_db: Any, unique_id: str) -> AsyncIterator[Api]:
    """Production rules: https only, no internal addresses."""
    async for client in _serve(_settings(mongodb_uri, mongo_db)):
        yield Api(client, [f"shop-a-{unique_id}", f"shop-b-{unique_id}"])


@pytest_asyncio.fixture
async def dev_api(mongodb_uri: str, mongo_db: Any, unique_id: str) -> AsyncIterator[Api]:
    """Local development: the receivers are http://127.0.0.1."""
    settings = _settings(
        mongodb_uri, mongo_db, webhook_allow_http=True, webhook_allow_internal=True
    )
    async for client in _serve(settings):
        yield Api(client, [f"shop-a-{unique_id}"])


async def test_only_admins_manage_subscriptions(strict_api: Api) -> None:
    shop = strict_api.shops[0]
    created = await strict_api.create(shop, "https://hooks.example.com/a")
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert (await strict_api.client.get(BASE)).status_code == 401
    for role in (Role.OPERATIONS, Role.CUSTOMER_SERVICE, Role.ANALYST, Role.BUYER):
        headers = strict_api.auth(role)
        answers = [
            await strict_api.client.get(BASE, headers=headers),
            await strict_api.client.get(f"{BASE}/{sid}", headers=headers),
            await strict_api.client.post(
                BASE,
                json={"shop_id": shop, "url": "https://x.example.com", "event_types": [CREATED]},
                headers=headers,
            ),
            await strict_api.client.post(f"{BASE}/{sid}/replay", json={}, headers=headers),
            await strict_api.client.delete(f"{BASE}/{sid}", headers=headers),
        ]
        for answer in answers:
            assert answer.status_code == 403, (role, answer.request.url, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
    assert (
        await strict_api.client.get(f"{BASE}/{sid}", headers=strict_api.auth())
    ).status_code == 200


async def test_another_shops_subscription_is_unknown(strict_api: Api) -> None:
    a, b = strict_api.shops
    sid = (await strict_api.create(b, "https://hooks.example.com/b")).json()["id"]
    only_a = strict_api.auth(shops=[a])
    answers = [
        await strict_api.client.get(f"{BASE}/{sid}", headers=only_a),
        await strict_api.client.patch(f"{BASE}/{sid}", json={"active": False}, headers=only_a),
        await strict_api.client.get(f"{BASE}/{sid}/deliveries", headers=only_a),
        await strict_api.client.post(f"{BASE}/{sid}/replay", json={}, headers=only_a),
        await strict_api.client.post(f"{BASE}/{sid}/secret", headers=only_a),
        await strict_api.client.delete(f"{BASE}/{sid}", headers=only_a),
    ]
    assert [r.status_code for r in answers] == [404] * len(answers)
    listed = await strict_api.client.get(BASE, headers=only_a)
    assert listed.json()["items"] == []
    foreign = await strict_api.client.post(
        BASE,
        json={"shop_id": b, "url": "https://hooks.example.com", "event_types": [CREATED]},
        headers=only_a,
    )
    assert foreign.status_code == 404
    # Still there for its own shop: the 404s changed nothing.
    mine = await strict_api.client.get(f"{BASE}/{sid}", headers=strict_api.auth(shops=[b]))
    assert mine.status_code == 200
    assert mine.json()["active"] is True


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"url": "http://hooks.example.com/x"}, "body.url"),
        ({"url": "https://127.0.0.1/x"}, "body.url"),
        ({"url": "https://10.1.2.3/x"}, "body.url"),
        ({"url": "https://[::1]/x"}, "body.url"),
        ({"url": "https://localhost/x"}, "body.url"),
        ({"url": "https://169.254.169.254/latest"}, "body.url"),
        ({"url": "https://user:pw@hooks.example.com/x"}, "body.url"),
        ({"url": "https://hooks.example.com/" + "a" * 2100}, "body.url"),
        ({"event_types": ["orderlens.export.requested.v1"]}, "body.event_types"),
        ({"event_types": []}, "body.event_types"),
        ({"secret": "mine"}, "body.secret"),
    ],
)
async def test_bad_subscriptions_answer_400_naming_the_field(
    strict_api: Api, body: dict[str, Any], param: str
) -> None:
    payload = {
        "shop_id": strict_api.shops[0],
        "url": "https://hooks.example.com/x",
        "event_types": [CREATED],
        **body,
    }
    answer = await strict_api.client.post(BASE, json=payload, headers=strict_api.auth())
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert param in [e["param"] for e in answer.json()["errors"]]


async def test_the_secret_is_shown_once(strict_api: Api) -> None:
    created = (await strict_api.create(strict_api.shops[0], "https://hooks.example.com/s")).json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert created["secret_hint"] == f"whsec_…{secret[-4:]}"
    sid = created["id"]
    reads = [
        await strict_api.client.get(BASE, headers=strict_api.auth()),
        await strict_api.client.get(f"{BASE}/{sid}", headers=strict_api.auth()),
        await strict_api.client.patch(
            f"{BASE}/{sid}", json={"description": "x"}, headers=strict_api.auth()
        ),
    ]
    for answer in reads:
        assert answer.status_code == 200
        assert secret not in answer.text
        assert secret[6:20] not in answer.text
    rotated = (
        await strict_api.client.post(f"{BASE}/{sid}/secret", headers=strict_api.auth())
    ).json()
    assert rotated["secret"] != secret


async def test_subscribed_through_the_api_delivered_parked_and_replayed(
    dev_api: Api,
    start_dispatcher: StartDispatcher,
    producer: AIOKafkaProducer,
    topic_names: TopicNames,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    shop = dev_api.shops[0]
    receiver = Receiver()
    async with receivers(receiver):
        created = await dev_api.create(shop, receiver.url)
        assert created.status_code == 201, created.text
        sid, secret = created.json()["id"], created.json()["secret"]
        receiver.secret = secret  # what the subscriber stored from the one answer showing it
        await start_dispatcher(webhook_retry_max_age_seconds=1.0)
        first = order_created(f"{shop}-1", shop)
        await publish(producer, topic_names.created, [first])

        async def got_first() -> bool:
            return first.id in receiver.ids()

        await wait_for(got_first, 30, "the first event at the subscriber")
        assert receiver.accepted[0].signature_valid

        receiver.status = 500  # the subscriber breaks for good
        later = [status_changed(f"{shop}-1", shop), status_changed(f"{shop}-1", shop, "DELIVERED")]
        await publish(producer, topic_names.status_changed, later)
        parked_url = f"{BASE}/{sid}/deliveries"

        async def both_parked() -> bool:
            answer = await dev_api.client.get(
                parked_url, params={"state": "parked"}, headers=dev_api.auth()
            )
            return [d["event_id"] for d in answer.json()["items"]] == [e.id for e in later]

        await wait_for(both_parked, 30, "the later events parked, visible in the API")
        parked = (
            await dev_api.client.get(parked_url, params={"state": "parked"}, headers=dev_api.auth())
        ).json()["items"]
        assert parked[0]["last_status"] == 500
        assert parked[0]["attempts"] >= 1

        receiver.status = 200
        replay = await dev_api.client.post(f"{BASE}/{sid}/replay", json={}, headers=dev_api.auth())
        assert replay.status_code == 202
        assert replay.json() == {"replayed": 2}

        async def got_all() -> bool:
            return [e for e in receiver.ids() if e != first.id][:2] == [e.id for e in later]

        await wait_for(got_all, 30, "the replayed events, in order")
        assert all(r.signature_valid for r in receiver.accepted)
    assert secret not in caplog.text, "the secret was logged"
