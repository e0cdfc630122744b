"""The connector as its own process, SIGKILLed and restarted, with order-ingest downstream:

- mid-notification-processing: every order arrives, stored once with TikTok's newest state, and
  only the batch in flight at the kill is published again;
- between TikTok's answer to a seller's ship and the connector's record of it: the restarted
  connector finds the ship applied and does not send it again."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from conn_support import connector_env, free_port, kill, start_connector

from orderlens.domain.status import OrderStatus
from orderlens.events import PackageUpdate, StatusChanged, StatusSource, encode, make_event
from orderlens.waiting import wait_for
from orderlens_devtools.devstack import TopicNames, delete_topics, ensure_topics
from orderlens_devtools.tiktok_simulator.demo import connect_shops
from orderlens_ingest.app import IngestApp
from orderlens_ingest.settings import IngestSettings

pytestmark = pytest.mark.integration

KEY, SECRET = "crash2-app", "crash2-secret"
ORDERS = 600
BATCH = 500  # the notification worker's largest batch (entrypoints/consumers.py)


@pytest_asyncio.fixture
async def ingest(
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db: Any,
    topic_names: TopicNames,
    unique_id: str,
) -> AsyncIterator[None]:
    app = IngestApp(
        IngestSettings(
            kafka_bootstrap_servers=kafka_bootstrap_servers,
            mongodb_uri=mongodb_uri,
            mongodb_database=mongo_db.name,
            topic_orders_created=topic_names.created,
            topic_status_changed=topic_names.status_changed,
            topic_dead_letter=topic_names.dead_letter,
            ingest_group_id=f"ingest-{unique_id}",
            ingest_batch_timeout_ms=50,
            http_port=0,
            log_json=False,
        )
    )
    await app.start()
    try:
        yield
    finally:
        await app.stop()


@pytest_asyncio.fixture
async def notifications(kafka_bootstrap_servers: str, unique_id: str) -> AsyncIterator[str]:
    topic = f"tiktok.notifications-{unique_id}"
    await ensure_topics(kafka_bootstrap_servers, [topic], partitions=3)
    yield topic
    await delete_topics(kafka_bootstrap_servers, [topic])


def _env(
    port: int, url: str, topics: TopicNames, notifications: str, servers: tuple[str, str, str]
) -> dict[str, str]:
    kafka, mongodb_uri, database = servers
    return connector_env(
        kafka=kafka,
        mongodb_uri=mongodb_uri,
        database=database,
        simulator_url=url,
        port=port,
        app_key=KEY,
        app_secret=SECRET,
        TOPIC_TIKTOK_NOTIFICATIONS=notifications,
        TOPIC_ORDERS_CREATED=topics.created,
        TOPIC_STATUS_CHANGED=topics.status_changed,
        # Get Order Detail at 2 calls a second, 50 orders a call: slow enough to be killed.
        TIKTOK_SHOP_RATE="2",
    )


async def _stored(db: Any, shop_id: str) -> dict[str, int]:
    cursor = db["orders"].find({"shop_id": shop_id}, {"source_update_time": 1})
    return {doc["_id"]: int(doc["source_update_time"]) async for doc in cursor}


async def test_sigkill_mid_notification_processing_loses_and_duplicates_nothing_downstream(
    simulator_factory: Any,
    ingest: None,
    notifications: str,
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db: Any,
    topic_names: TopicNames,
    tmp_path: Path,
) -> None:
    port = free_port()
    connector_url = f"http://127.0.0.1:{port}"
    running = await simulator_factory(
        app_key=KEY,
        app_secret=SECRET,
        webhook_url=f"{connector_url}/webhooks/tiktok",
        duplicate_rate=0.2,
        late_rate=0.2,
    )
    state = running.sim.state
    shop = state.add_shop("Demo")
    env = _env(
        port,
        running.url,
        topic_names,
        notifications,
        (kafka_bootstrap_servers, mongodb_uri, mongo_db.name),
    )
    log = tmp_path / "connector.log"
    consumer = AIOKafkaConsumer(
        topic_names.created, bootstrap_servers=kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    published: Counter[str] = Counter()
    doomed = await start_connector(env, log)
    survivor = None
    try:
        await connect_shops(connector_url, within=180)
        for _ in range(ORDERS):
            running.sim.notify(1, state.new_order(shop.id))
        running.sim.flush_late()
        async with asyncio.timeout(180):
            async for record in consumer:
                published[json.loads(record.value or b"")["data"]["order"]["id"]] += 1
                if len(published) >= 150:
                    break
        await kill(doomed)
        at_kill = len(published)
        survivor = await start_connector(env, log)
        want = {order_id: int(o["update_time"]) for order_id, o in state.orders.items()}

        async def all_stored() -> bool:
            return await _stored(mongo_db, shop.id) == want

        await wait_for(all_stored, 300, "every order stored with TikTok's state", every=0.5)
        # Read the topic to its end as it is now: every snapshot the connector published.
        ends = await consumer.end_offsets(list(consumer.assignment()))
        async with asyncio.timeout(30):
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        published[json.loads(record.value or b"")["data"]["order"]["id"]] += 1
    finally:
        await kill(doomed)
        await kill(survivor)
        await consumer.stop()

    assert at_kill < ORDERS, "the notifications were all processed before the kill"
    assert set(published) == set(want)
    repeated = sum(n - 1 for n in published.values())
    assert repeated <= BATCH, f"{repeated} snapshots published again"
    assert max(published.values()) <= 2
    assert await mongo_db["orders"].count_documents({"shop_id": shop.id}) == ORDERS
    assert running.sim.stats.over_limit == 0


async def test_crash_between_tiktoks_answer_and_the_record_does_not_ship_twice(
    simulator_factory: Any,
    ingest: None,
    notifications: str,
    kafka_bootstrap_servers: str,
    mongodb_uri: str,
    mongo_db: Any,
    topic_names: TopicNames,
    tmp_path: Path,
) -> None:
    port = free_port()
    connector_url = f"http://127.0.0.1:{port}"
    running = await simulator_factory(
        app_key=KEY,
        app_secret=SECRET,
        webhook_url=f"{connector_url}/webhooks/tiktok",
        duplicate_rate=0.0,
        late_rate=0.0,
    )
    state = running.sim.state
    shop = state.add_shop("Demo")
    crashed, marker = state.new_order(shop.id), state.new_order(shop.id)
    env = _env(
        port,
        running.url,
        topic_names,
        notifications,
        (kafka_bootstrap_servers, mongodb_uri, mongo_db.name),
    )
    log = tmp_path / "connector.log"
    doomed = await start_connector(env, log)
    survivor = None

    async def crash(action: str) -> None:
        # TikTok has shipped the package; the connector dies before it hears so.
        await kill(doomed)
        running.sim.after_action = None

    def ship(order: dict[str, Any]) -> Any:
        data = StatusChanged(
            order_id=order["id"],
            shop_id=shop.id,
            occurred_at=datetime.now(UTC),
            source=StatusSource.SELLER,
            status=OrderStatus.AWAITING_COLLECTION,
            package=PackageUpdate(carrier="royal-mail", tracking_number=f"RM{order['id'][-9:]}GB"),
        )
        return make_event(data, source="orderlens/query-api", subject=order["id"])

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await connect_shops(connector_url, within=180)
        running.sim.after_action = crash
        first = ship(crashed)
        # One key: both events on one partition, so the marker is carried after the first.
        await producer.send_and_wait(topic_names.status_changed, encode(first), key=b"k")

        async def died() -> bool:
            return doomed.returncode is not None

        await wait_for(died, 180, "the connector killed inside TikTok's answer")
        record = await mongo_db["tiktok_actions"].find_one({"_id": first.id})
        assert record["state"] == "calling"  # TikTok applied it; the connector never heard
        survivor = await start_connector(env, log)
        await producer.send_and_wait(topic_names.status_changed, encode(ship(marker)), key=b"k")
        marker_package = marker["packages"][0]["id"]

        async def marker_shipped() -> bool:
            return any(r["package_id"] == marker_package for r in state.ship_requests)

        await wait_for(marker_shipped, 180, "the later marker's ship reached TikTok")

        async def crashed_stored_shipped() -> bool:
            doc = await mongo_db["orders"].find_one({"_id": crashed["id"]})
            return doc is not None and doc["source_update_time"] == crashed["update_time"]

        await wait_for(crashed_stored_shipped, 180, "TikTok's webhook for the ship stored")
        record = await mongo_db["tiktok_actions"].find_one({"_id": first.id})
    finally:
        await producer.stop()
        await kill(doomed)
        await kill(survivor)

    package = crashed["packages"][0]["id"]
    assert [r["package_id"] for r in state.ship_requests].count(package) == 1
    assert crashed["status"] == "AWAITING_COLLECTION"
    assert record["state"] == "applied"
    assert record["detail"] == "found applied after a restart"
    stored = await mongo_db["orders"].find_one({"_id": crashed["id"]})
    assert stored["status"] == "AWAITING_COLLECTION"
