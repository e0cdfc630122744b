"""Outgoing webhooks end to end (decision 0121): events published on a real Kafka broker, the
notifier on the real MongoDB-wire server, subscriptions made through query-api's API, and real
HTTP receivers (threaded servers on free ports) that can fail, stall and recover."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest_asyncio
from asgi_lifespan import LifespanManager
from faststream.kafka import KafkaBroker

from orderlens.devstack import TopicNames
from orderlens.domain.status import OrderStatus
from orderlens.events import StatusChanged, StatusSource, make_event
from orderlens.kafka import make_broker, publish_event
from orderlens.roles import Role
from orderlens.tokens import mint_token
from orderlens.waiting import wait_for
from orderlens.webhook_signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify
from orderlens_notifier.app import Notifier, build, replay_command
from orderlens_notifier.settings import NotifierSettings
from orderlens_query.app import create_app
from orderlens_query.settings import QueryApiSettings

MAX_AGE = 6.0  # seconds before a failing delivery is parked (24 h in production)


@dataclass
class Receiver:
    """A webhook receiver: answers `fail_first` requests 500 (or all, with `always_fail`), and
    with `hold` set, keeps every request waiting until `hold` is cleared."""

    secret: str = ""
    fail_first: int = 0
    always_fail: bool = False
    hold: threading.Event | None = None
    got: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests += 1
                    failing = receiver.always_fail or receiver.requests <= receiver.fail_first
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                if failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                event = json.loads(body)
                signed = verify(
                    receiver.secret, body, self.headers[SIGNATURE_HEADER], int(time.time())
                )
                with receiver.lock:
                    receiver.got.append(
                        {
                            "id": event["id"],
                            "subject": event["subject"],
                            "status": event["data"]["status"],
                            "signed": signed,
                            "header_id": self.headers[EVENT_ID_HEADER],
                        }
                    )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def ids(self) -> list[str]:
        with self.lock:
            return [g["id"] for g in self.got]


@dataclass
class Stack:
    api: httpx.AsyncClient
    broker: KafkaBroker
    notifier: Notifier
    settings: NotifierSettings
    topics: TopicNames
    receivers: list[Receiver]

    async def subscribe(self, shop: str, receiver: Receiver) -> str:
        receiver.start()
        self.receivers.append(receiver)
        token = mint_token(sub="admin", role=Role.ADMIN, shops=[shop])
        response = await self.api.post(
            "/v1/webhooks",
            json={"shop_id": shop, "url": receiver.url, "event_types": []},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        receiver.secret = body["secret"]
        return str(body["id"])

    async def publish(self, shop: str, order_id: str, status: OrderStatus) -> str:
        event = make_event(
            StatusChanged(
                order_id=order_id,
                shop_id=shop,
                occurred_at=datetime.now(UTC),
                source=StatusSource.SYSTEM,
                status=status,
            ),
            source="tests/notifier",
            subject=order_id,
        )
        await publish_event(self.broker, self.topics.status_changed, event)
        return event.id

    def admin(self, shop: str) -> dict[str, str]:
        token = mint_token(sub="admin", role=Role.ADMIN, shops=[shop])
        return {"Authorization": f"Bearer {token}"}


@pytest_asyncio.fixture
async def stack(
    mongodb_uri: str, kafka_bootstrap_servers: str, make_topics: Any, mongo_client: Any
) -> AsyncIterator[Stack]:
    db_name = f"ntf_{uuid.uuid4().hex[:10]}"
    topics: TopicNames = await make_topics(partitions=3)
    settings = NotifierSettings(
        mongodb_uri=mongodb_uri,
        mongodb_database=db_name,
        kafka_bootstrap_servers=kafka_bootstrap_servers,
        topic_orders_created=topics.created,
        topic_status_changed=topics.status_changed,
        topic_dead_letter=topics.dead_letter,
        notifier_group_id=f"ntf-{db_name}",
        http_port=0,
        webhook_retry_base_seconds=0.2,
        webhook_retry_cap_seconds=1.0,
        webhook_max_age_seconds=MAX_AGE,
        webhook_poll_seconds=0.2,
        webhook_timeout_seconds=60,
        log_json=False,
    )
    app = create_app(
        QueryApiSettings(
            mongodb_uri=mongodb_uri,
            mongodb_database=db_name,
            kafka_bootstrap_servers="127.0.0.1:1",
            log_json=False,
        )
    )
    notifier = build(settings)
    broker = make_broker(kafka_bootstrap_servers, client_id="test-notifier-publisher")
    receivers: list[Receiver] = []
    await broker.start()
    await notifier.start()
    try:
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ntf") as client:
                yield Stack(client, broker, notifier, settings, topics, receivers)
    finally:
        for receiver in receivers:
            receiver.stop()
        await notifier.stop()
        await broker.stop()
        await mongo_client.drop_database(db_name)


def shop() -> str:
    return f"shop-{uuid.uuid4().hex[:8]}"


async def test_each_event_reaches_each_subscription_once_signed(stack: Stack) -> None:
    mine, other = shop(), shop()
    first, second, elsewhere = Receiver(), Receiver(), Receiver()
    await stack.subscribe(mine, first)
    await stack.subscribe(mine, second)
    await stack.subscribe(other, elsewhere)
    sent = []
    for n in range(9):
        status = (OrderStatus.AWAITING_SHIPMENT, OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED)[
            n % 3
        ]
        sent.append(await stack.publish(mine, f"o{n // 3}", status))
    marker = await stack.publish(other, "o-marker", OrderStatus.AWAITING_SHIPMENT)

    await wait_for(lambda: _has(elsewhere, {marker}), 60, "the other shop's marker")
    for receiver in (first, second):
        await wait_for(lambda r=receiver: _has(r, set(sent)), 60, "every event")  # type: ignore[misc]
        assert sorted(receiver.ids()) == sorted(sent)  # once each
        assert all(g["signed"] and g["header_id"] == g["id"] for g in receiver.got)
    assert elsewhere.ids() == [marker]  # the other shop's subscriber got none of mine


async def _true(value: bool) -> bool:
    return value


def _has(receiver: Receiver, ids: set[str]) -> Any:
    return _true(ids <= set(receiver.ids()))


async def test_a_receiver_failing_for_a_while_gets_everything_in_order(stack: Stack) -> None:
    mine = shop()
    flaky = Receiver(fail_first=3)
    await stack.subscribe(mine, flaky)
    sent: dict[str, list[str]] = {"a": [], "b": []}
    for status in (OrderStatus.AWAITING_SHIPMENT, OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED):
        for order in ("a", "b"):
            sent[order].append(await stack.publish(mine, order, status))
    every = {i for ids in sent.values() for i in ids}
    await wait_for(lambda: _has(flaky, every), 60, "every event after the receiver recovered")
    assert flaky.requests > len(every)  # it did fail first
    for order, ids in sent.items():
        assert [g["id"] for g in flaky.got if g["subject"] == order] == ids


async def test_a_receiver_that_never_recovers_is_parked_and_replay_delivers(stack: Stack) -> None:
    mine = shop()
    dead = Receiver(always_fail=True)
    sub_id = await stack.subscribe(mine, dead)
    sent = [
        await stack.publish(mine, "p", s)
        for s in (OrderStatus.AWAITING_SHIPMENT, OrderStatus.IN_TRANSIT)
    ]

    async def parked() -> list[str]:
        response = await stack.api.get(
            f"/v1/webhooks/{sub_id}/deliveries",
            params={"state": "parked"},
            headers=stack.admin(mine),
        )
        assert response.status_code == 200, response.text
        return [d["event_id"] for d in response.json()["items"]]

    async def all_parked() -> bool:
        return sorted(await parked()) == sorted(sent)

    await wait_for(all_parked, MAX_AGE + 60, "both deliveries parked")
    assert dead.ids() == []
    dead.always_fail = False
    response = await stack.api.post(f"/v1/webhooks/{sub_id}/replay", headers=stack.admin(mine))
    assert response.status_code == 202
    await wait_for(lambda: _has(dead, set(sent)), 60, "replayed deliveries")
    assert dead.ids() == sent
    assert await parked() == []


async def test_the_replay_command_requeues_parked_deliveries(stack: Stack) -> None:
    mine = shop()
    dead = Receiver(always_fail=True)
    sub_id = await stack.subscribe(mine, dead)
    sent = await stack.publish(mine, "q", OrderStatus.AWAITING_SHIPMENT)

    async def parked() -> bool:
        found = await stack.notifier.store.deliveries(sub_id, _parked())
        return [d.event_id for d in found] == [sent]

    await wait_for(parked, MAX_AGE + 60, "the delivery parked")
    dead.always_fail = False
    assert await replay_command(stack.settings, sub_id) == 1
    await wait_for(lambda: _has(dead, {sent}), 60, "the replayed delivery")


def _parked() -> Any:
    from orderlens_notifier.service import DeliveryState

    return DeliveryState.PARKED


async def test_a_slow_receiver_does_not_delay_a_fast_one(stack: Stack) -> None:
    mine = shop()
    stalled = threading.Event()
    slow, fast = Receiver(hold=stalled), Receiver()
    await stack.subscribe(mine, slow)
    await stack.subscribe(mine, fast)
    sent = [await stack.publish(mine, f"s{n}", OrderStatus.AWAITING_SHIPMENT) for n in range(3)]
    marker = await stack.publish(mine, "s-marker", OrderStatus.AWAITING_SHIPMENT)
    await wait_for(lambda: _has(fast, {*sent, marker}), 60, "the fast receiver's events")
    # The slow receiver still holds its first request: nothing of it has completed.
    assert slow.ids() == []
    assert slow.requests >= 1
    stalled.set()
    await wait_for(lambda: _has(slow, {*sent, marker}), 60, "the slow receiver's events")
