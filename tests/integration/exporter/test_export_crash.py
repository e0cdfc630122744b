"""An export whose worker process is killed mid-way is taken over by another and completes."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import pytest_asyncio
from exp_orders import wide_orders
from exp_stack import ExportStack, exporter_settings, start_stack
from pymongo import AsyncMongoClient

from orderlens_exporter.app import build

CRASH_SHOP = "shop-crash"
SKUS = 25
CRASH_ORDERS = 480


@pytest_asyncio.fixture(scope="module")
async def stack(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ExportStack]:
    """query-api over 480 orders of 25 SKUs each, and no exporter yet."""
    async for running in start_stack(
        mongo_client,
        mongodb_uri,
        kafka_bootstrap_servers,
        tmp_path_factory.mktemp("exports"),
        documents=wide_orders(CRASH_ORDERS, skus=SKUS, shop_id=CRASH_SHOP, seed=2),
        shops=[CRASH_SHOP],
        exporters=0,
        export_batch_size=100,
    ):
        yield running


async def test_an_export_whose_worker_is_killed_is_taken_over_and_completes(
    stack: ExportStack, tmp_path: Path
) -> None:
    settings = stack.settings
    env = {
        **os.environ,
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DATABASE": settings.mongodb_database,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "TOPIC_EXPORT_REQUESTED": settings.topic_export_requested,
        "TOPIC_EXPORT_COMPLETED": settings.topic_export_completed,
        "TOPIC_DEAD_LETTER": settings.topic_dead_letter,
        "EXPORT_DIR": str(settings.export_dir),
        "HTTP_PORT": "0",
        "EXPORT_LEASE_SECONDS": "5",
        "EXPORT_POLL_SECONDS": "0.2",
        "EXPORT_PROGRESS_SECONDS": "0.1",
        # Its own consumer group: the survivor then need not wait a session timeout for the
        # dead member to leave the group (not what this test is about).
        "EXPORT_GROUP_ID": f"doomed-{settings.mongodb_database}",
        "EXPORT_BATCH_SIZE": "100",
        "LOG_JSON": "false",
    }
    # A real exporter process: it claims the export, then dies without a word (SIGKILL).
    log = tmp_path / "doomed.log"
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "orderlens_exporter",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    who = {"shops": [CRASH_SHOP]}
    try:
        export_id = await stack.request(
            {"format": "xlsx", "filters": {"shop_id": [CRASH_SHOP]}}, **who
        )
        deadline = time.monotonic() + 120
        while True:
            record = await stack.db.exports.find_one({"_id": export_id})
            assert record is not None
            if record["status"] == "running" and record["rows"] > 0:
                break
            assert record["status"] != "succeeded", "finished before it could be killed"
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            await asyncio.sleep(0.05)
    finally:
        doomed.send_signal(signal.SIGKILL)
        await doomed.wait()
    killed_at_rows = record["rows"]
    assert record["attempts"] == 1

    seen: list[dict[str, Any]] = []
    survivor = build(
        exporter_settings(
            settings.mongodb_uri,
            settings.mongodb_database,
            settings.kafka_bootstrap_servers,
            stack.topics,
            settings.export_dir,
        ),
        owner="survivor",
    )
    await survivor.start()
    try:
        view = await stack.wait(export_id, within=300, seen=seen, **who)
    finally:
        await survivor.stop()

    assert view["status"] == "succeeded", view
    assert view["attempts"] == 2
    assert view["rows"] == CRASH_ORDERS * SKUS
    progress = [v["progress"] for v in seen]
    assert progress == sorted(progress), "progress went backwards after the crash"
    assert min(v["rows"] for v in seen) >= killed_at_rows
    download = await stack.api.get(
        f"/v1/exports/{export_id}/download", headers=stack.auth(shops=[CRASH_SHOP])
    )
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(download.content), read_only=True)
    assert sum(1 for _ in book["Orders"].iter_rows()) == 1 + CRASH_ORDERS * SKUS
    # Only the survivor's file is kept; the dead attempt's partial file never became one.
    stored = sorted(p.name for p in settings.export_dir.iterdir() if p.name.startswith(export_id))
    assert stored == [f"{export_id}.2.xlsx"]
