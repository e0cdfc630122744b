"""Test harness shared by every test: real servers, unique names, automatic markers.

Servers (docs/contract.md §8), chosen once per session and per server, in this order:
  1. `KAFKA_BOOTSTRAP_SERVERS` / `MONGODB_URI` when set;
  2. testcontainers when a Docker engine answers;
  3. the locally provisioned Kafka / mongo-java-server (`orderlens_devtools.devstack`, memory
     backend), started once per session on the test ports (19092 / 37017, state in
     `.orderlens/test/`) and stopped at session end (unless another running session still
     uses them, or `ORDERLENS_KEEP_SERVERS=1`).
Nothing is started unless a selected test asks for a server fixture.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from orderlens_devtools.devstack import (
    LocalStack,
    MongoServer,
    StackConfig,
    TopicNames,
    delete_topics,
    docker_engine_available,
    ensure_topics,
    free_port,
    provision_mongo,
)

_TESTS_DIR = Path(__file__).resolve().parent
_MARKERS = {"unit", "integration", "e2e"}

MakeTopics = Callable[..., Awaitable[TopicNames]]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """tests/unit/** -> unit, tests/integration/** -> integration, tests/e2e/** -> e2e."""
    for item in items:
        try:
            top = item.path.resolve().relative_to(_TESTS_DIR).parts[0]
        except (ValueError, IndexError):
            continue
        if top in _MARKERS:
            item.add_marker(getattr(pytest.mark, top))


# -- servers -------------------------------------------------------------------------------------


def _backend(env_var: str) -> str:
    if os.environ.get(env_var):
        return "env"
    if docker_engine_available():
        return "docker"
    return "local"


@pytest.fixture(scope="session")
def local_stack() -> LocalStack:
    """The test suite's own locally provisioned stack (not started by this fixture)."""
    return LocalStack(StackConfig.for_tests())


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(request: pytest.FixtureRequest) -> Iterator[str]:
    """Bootstrap servers of a real Kafka broker for the whole session."""
    backend = _backend("KAFKA_BOOTSTRAP_SERVERS")
    if backend == "env":
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    elif backend == "docker":
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        stack: LocalStack = request.getfixturevalue("local_stack")
        with stack.lease("kafka"):
            yield stack.bootstrap_servers


@pytest.fixture(scope="session")
def mongodb_uri(request: pytest.FixtureRequest) -> Iterator[str]:
    """URI of a real MongoDB-wire server (MongoDB, the local mongo-java-server) for the session."""
    backend = _backend("MONGODB_URI")
    if backend == "env":
        yield os.environ["MONGODB_URI"]
    elif backend == "docker":
        from testcontainers.community.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7.0") as container:
            yield container.get_connection_url()
    else:
        stack: LocalStack = request.getfixturevalue("local_stack")
        with stack.lease("mongo"):
            yield stack.mongodb_uri


@pytest.fixture
def mongo_server(tmp_path: Path) -> Iterator[MongoServer]:
    """A dedicated mongo-java-server (persistent H2 store) for this test, which the test may
    stop and start again.

    Use `mongo_server.uri`; `stop()` / `start()` (or `await astop()` / `await astart()`) keep
    its data and port. Stop it cleanly: a SIGKILL (`graceful=False`) loses the store's last
    acknowledged writes (README, local stack; docs/decisions/0080). Only with the local
    servers: skipped when `MONGODB_URI` is set or a Docker engine is used.
    """
    backend = _backend("MONGODB_URI")
    if backend != "local":
        reason = "MONGODB_URI is set" if backend == "env" else "testcontainers (Docker) is used"
        pytest.skip(f"stopping the MongoDB-wire server needs the local mongo-java-server; {reason}")
    server = MongoServer(
        home=tmp_path / "mongo",
        log_file=tmp_path / "mongo.log",
        install=provision_mongo(),
        port=free_port(),
        cache_mb=64,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- unique names --------------------------------------------------------------------------------


@pytest.fixture
def unique_id() -> str:
    """A short id unique to this test, safe in topic, group and database names."""
    return uuid.uuid4().hex[:12]


@pytest_asyncio.fixture
async def make_topics(kafka_bootstrap_servers: str, unique_id: str) -> AsyncIterator[MakeTopics]:
    """`await make_topics(partitions=3, suffix=None) -> TopicNames`: the five contract topics under
    fresh names, created now and deleted after the test."""
    created: list[str] = []

    async def make(partitions: int = 3, suffix: str | None = None) -> TopicNames:
        names = TopicNames.with_suffix(suffix or f"{unique_id}-{len(created) // 5}")
        await ensure_topics(kafka_bootstrap_servers, names.values(), partitions=partitions)
        created.extend(names.values())
        return names

    yield make
    if created:
        await delete_topics(kafka_bootstrap_servers, created)


@pytest_asyncio.fixture
async def topic_names(make_topics: MakeTopics) -> TopicNames:
    """The five contract topics (role -> unique name, e.g. `created` -> `orders.created.<id>-0`),
    with `ORDERLENS_PARTITIONS` (default 3) partitions each, deleted after the test."""
    return await make_topics(partitions=int(os.environ.get("ORDERLENS_PARTITIONS", "3")))


@pytest_asyncio.fixture(scope="session")
async def mongo_client(mongodb_uri: str) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    """A pymongo `AsyncMongoClient` on the session server (session event loop)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, tz_aware=True)
    try:
        yield client
    finally:
        await client.close()


@pytest_asyncio.fixture
async def mongo_db_name(
    mongo_client: AsyncMongoClient[dict[str, Any]], unique_id: str
) -> AsyncIterator[str]:
    """A database name unique to this test; the database is dropped after the test."""
    name = f"test_{unique_id}"
    yield name
    await mongo_client.drop_database(name)


@pytest.fixture
def mongo_db(
    mongo_client: AsyncMongoClient[dict[str, Any]], mongo_db_name: str
) -> AsyncDatabase[dict[str, Any]]:
    """The test's own database on the session server (dropped after the test)."""
    return mongo_client[mongo_db_name]
