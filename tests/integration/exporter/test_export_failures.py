"""Failures: dead workers, the per-shop cap across replicas, damaged or expired files, invalid
messages. Two exporter replicas share the work, with at most one running export per shop."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from exp_orders import make_orders
from exp_stack import ExportStack, start_stack
from pymongo import AsyncMongoClient

from orderlens.domain.export import ExportRecord, ExportStatus, new_export_id
from orderlens.events import (
    ExportFormat,
    ExportRequested,
    Granularity,
    decode,
    encode,
    make_event,
)
from orderlens.waiting import wait_for


@pytest_asyncio.fixture(scope="module")
async def stack(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ExportStack]:
    orders, shops = make_orders(240, seed=9, shops=2)
    async for running in start_stack(
        mongo_client,
        mongodb_uri,
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("exports"),
        orders=orders,
        shops=shops,
        exporters=2,
        export_max_running_per_shop=1,
        export_workers=2,
    ):
        yield running


async def test_an_export_left_running_by_a_dead_worker_is_claimed_again(
    stack: ExportStack,
) -> None:
    now = datetime.now(UTC)
    shop = stack.shops[0]
    dead = ExportRecord(
        id=new_export_id(),
        shop_ids=[shop],
        requested_by="user-admin",
        role="admin",
        format=ExportFormat.CSV,
        granularity=Granularity.ORDER,
        filters={"shop_id": [shop]},
        status=ExportStatus.RUNNING,
        created_at=now - timedelta(minutes=5),
        updated_at=now - timedelta(minutes=1),
        started_at=now - timedelta(minutes=5),
        attempts=1,
        lease_owner="a-worker-that-died",
        lease_expires_at=now - timedelta(seconds=1),
        rows=70,
        progress=0.6,
    )
    await stack.db.exports.insert_one(dead.to_document())
    # The dead worker still holds the shop's only slot.
    await stack.db.export_slots.insert_one(
        {
            "_id": f"{shop}#0",
            "shop_id": shop,
            "export_id": dead.id,
            "attempt": 1,
            "acquired_at": now - timedelta(minutes=5),
        }
    )

    seen: list[dict[str, Any]] = []
    view = await stack.wait(dead.id, seen=seen)

    assert view["status"] == "succeeded", view
    assert view["attempts"] == 2
    assert view["rows"] == sum(1 for o in stack.orders if o.shop_id == shop)
    progress = [v["progress"] for v in seen]
    assert progress == sorted(progress), "progress went backwards across the retry"
    assert min(progress) >= 0.6
    download = await stack.api.get(f"/v1/exports/{dead.id}/download", headers=stack.auth())
    assert download.status_code == 200


async def test_one_shop_never_runs_more_exports_at_once_than_its_cap(stack: ExportStack) -> None:
    shop, _other = stack.shops
    bodies = [{"format": f, "filters": {"shop_id": [shop]}} for f in ("xlsx", "csv") * 2]
    bodies.append({"format": "csv", "filters": {}})  # both shops: needs a slot in each
    ids = [await stack.request(body) for body in bodies]
    most_running = 0
    deadline = time.monotonic() + 240
    while True:
        records = [
            ExportRecord.from_document(doc)
            async for doc in stack.db.exports.find({"_id": {"$in": ids}})
        ]
        running = [r for r in records if r.status == ExportStatus.RUNNING]
        assert sum(shop in r.shop_ids for r in running) <= 1, running
        most_running = max(most_running, len(running))
        if all(r.status == ExportStatus.SUCCEEDED for r in records):
            break
        assert time.monotonic() < deadline, [r.status for r in records]
        await asyncio.sleep(0.05)
    # The exports of the shop ran one after another: their running intervals never overlap.
    intervals = sorted((r.started_at, r.finished_at) for r in records if shop in r.shop_ids)
    for (_, end), (start, _) in itertools.pairwise(intervals):
        assert end is not None
        assert start is not None
        assert start >= end
    owners = {r.lease_owner for r in records}
    assert owners <= {"test-exporter-0", "test-exporter-1"}
    assert all(r.attempts == 1 for r in records)
    # The slots are all given back.
    assert await stack.db.export_slots.count_documents({}) == 0


async def test_a_damaged_or_missing_file_is_never_served(stack: ExportStack) -> None:
    export_id = await stack.request({"format": "csv", "filters": {"status": ["DELIVERED"]}})
    view = await stack.wait(export_id)
    key = (await stack.db.exports.find_one({"_id": export_id}))["file_key"]
    path = Path(stack.export_dir) / key
    original = path.read_bytes()
    url = f"/v1/exports/{export_id}/download"

    path.write_bytes(original[:-1] + b"X")  # same size, other bytes
    response = await stack.api.get(url, headers=stack.auth())
    assert response.status_code == 500
    assert original[:50] not in response.content
    path.write_bytes(original[: len(original) // 2])  # truncated
    assert (await stack.api.get(url, headers=stack.auth())).status_code == 500
    path.unlink()
    assert (await stack.api.get(url, headers=stack.auth())).status_code == 410
    path.write_bytes(original)
    response = await stack.api.get(url, headers=stack.auth())
    assert response.status_code == 200
    assert len(response.content) == view["bytes"]


async def test_an_expired_file_is_deleted_and_no_longer_served(stack: ExportStack) -> None:
    export_id = await stack.request({"format": "xlsx", "filters": {"status": ["CANCELLED"]}})
    view = await stack.wait(export_id)
    finished = datetime.fromisoformat(view["finished_at"])
    expires = datetime.fromisoformat(view["expires_at"])
    assert expires - finished == timedelta(hours=stack.settings.export_retention_hours)

    # Wait for the exporter's last write to the record (FerretDB updates are read-then-write:
    # a concurrent one could undo the test's change, decision 0034).
    async def completion_published() -> bool:
        record = await stack.db.exports.find_one({"_id": export_id})
        return bool(record and record["completion_published"])

    await wait_for(completion_published, within=30, what="export-completed to be published")
    record = await stack.db.exports.find_one({"_id": export_id})
    assert record is not None
    path = Path(stack.export_dir) / record["file_key"]
    assert path.exists()

    await stack.db.exports.update_one(
        {"_id": export_id}, {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}}
    )

    async def deleted() -> bool:
        return not path.exists()

    await wait_for(deleted, within=30, what="the sweeper to delete the expired file")
    response = await stack.api.get(f"/v1/exports/{export_id}/download", headers=stack.auth())
    assert response.status_code == 410
    status = await stack.api.get(f"/v1/exports/{export_id}", headers=stack.auth())
    assert status.json()["download_url"] is None


async def test_completions_are_published_and_invalid_requests_dead_lettered(
    stack: ExportStack, kafka_bootstrap_servers: str
) -> None:
    export_id = await stack.request({"format": "csv", "filters": {"status": ["COMPLETED"]}})
    view = await stack.wait(export_id)

    bad_id = ExportRequested(
        export_id="../../etc/passwd",
        shop_ids=[stack.shops[0]],
        requested_by="mallory",
        role="admin",
        format=ExportFormat.CSV,
    )
    bad_event = encode(make_event(bad_id, source="test", subject=bad_id.export_id))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(stack.topics.export_requested, b"not json", key=b"k1")
        await producer.send_and_wait(stack.topics.export_requested, bad_event, key=b"k2")
    finally:
        await producer.stop()

    dead = await read_topic(kafka_bootstrap_servers, stack.topics.dead_letter, count=2)
    assert sorted(m.value for m in dead) == sorted([b"not json", bad_event])
    for message in dead:
        headers = {k: v.decode() for k, v in message.headers}
        assert headers["x-original-topic"] == stack.topics.export_requested
        assert {"x-error", "x-original-partition", "x-original-offset", "x-failed-at"} <= set(
            headers
        )
    assert not await stack.db.exports.find_one({"_id": "../../etc/passwd"})

    completed = await read_topic(
        kafka_bootstrap_servers,
        stack.topics.export_completed,
        until=lambda m: m.key == export_id.encode(),
    )
    event = decode(completed[-1].value)
    assert event.subject == export_id
    assert event.data.model_dump() == {
        "export_id": export_id,
        "status": "succeeded",
        "rows": view["rows"],
        "bytes": view["bytes"],
        "sha256": view["sha256"],
        "file_name": view["file_name"],
        "error": None,
    }


async def read_topic(
    bootstrap: str, topic: str, *, count: int | None = None, until: Any = None
) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[Any] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                found.extend(messages)
            if count is not None and len(found) >= count:
                return found
            if until is not None and any(until(m) for m in found):
                return found
        raise AssertionError(f"{topic}: got {len(found)} messages: {json.dumps(len(found))}")
    finally:
        await consumer.stop()


async def test_records_and_slots_a_newer_version_wrote_are_read_and_keep_their_fields(
    stack: ExportStack,
) -> None:
    """docs/decisions/0190: a record and a slot with fields this version does not know, behind
    an older record it cannot read at all (a format it does not know)."""
    now = datetime.now(UTC)
    shop = stack.shops[1]
    unreadable = {
        **ExportRecord(
            id=new_export_id(),
            shop_ids=[shop],
            requested_by="user-admin",
            role="admin",
            format=ExportFormat.CSV,
            created_at=now - timedelta(minutes=10),
            updated_at=now - timedelta(minutes=10),
        ).to_document(),
        "format": "parquet",
    }
    newer = ExportRecord(
        id=new_export_id(),
        shop_ids=[shop],
        requested_by="user-admin",
        role="admin",
        format=ExportFormat.CSV,
        granularity=Granularity.ORDER,
        filters={"shop_id": [shop]},
        created_at=now - timedelta(minutes=5),
        updated_at=now - timedelta(minutes=5),
    )
    await stack.db.exports.insert_many(
        [unreadable, {**newer.to_document(), "priority": "high", "notify": {"email": "a@b.c"}}]
    )
    # The shop's only slot, left behind by a newer worker that died.
    await stack.db.export_slots.insert_one(
        {
            "_id": f"{shop}#0",
            "shop_id": shop,
            "export_id": "exp-a-worker-that-died",
            "attempt": 1,
            "acquired_at": now - timedelta(minutes=5),
            "worker_zone": "eu-1",
        }
    )
    try:
        view = await stack.wait(newer.id)
        assert view["status"] == "succeeded", view
        assert view["rows"] == sum(1 for o in stack.orders if o.shop_id == shop)
        stored = await stack.db.exports.find_one({"_id": newer.id})
        assert stored is not None
        assert stored["priority"] == "high"
        assert stored["notify"] == {"email": "a@b.c"}
        # The record it cannot read stays as it was, for a version that can.
        left = await stack.db.exports.find_one({"_id": unreadable["_id"]})
        assert left is not None
        assert (left["status"], left["attempts"], left["format"]) == ("queued", 0, "parquet")
    finally:
        await stack.db.exports.delete_one({"_id": unreadable["_id"]})
