"""The docs/contract.md §3.1 topics: idempotent creation / deletion with aiokafka's admin client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

from orderlens.topics import DEFAULT_TOPICS
from orderlens_devtools.devstack.aio import run_sync
from orderlens_devtools.devstack.errors import DevStackError

#: docs/contract.md §3.1 default topic name per role (spelled once, in `orderlens.topics`).
SPEC_TOPICS: dict[str, str] = dict(DEFAULT_TOPICS)

_TOPIC_ALREADY_EXISTS = 36
_UNKNOWN_TOPIC = 3
_RETRIABLE = {5, 7, 41}  # leader not available, request timed out, not controller


@dataclass(frozen=True)
class TopicNames(Mapping[str, str]):
    """The five contract topics under (possibly unique) names.

    A mapping from role (`created`, `status_changed`, `export_requested`, `export_completed`,
    `dead_letter`) to topic name; indexing by the contract default name (`orders.created`)
    works too.
    """

    created: str
    status_changed: str
    export_requested: str
    export_completed: str
    dead_letter: str

    @classmethod
    def default(cls) -> TopicNames:
        return cls(**SPEC_TOPICS)

    @classmethod
    def with_suffix(cls, suffix: str) -> TopicNames:
        return cls(**{role: f"{name}.{suffix}" for role, name in SPEC_TOPICS.items()})

    def __getitem__(self, key: str) -> str:
        role = _ROLE_BY_DEFAULT.get(key, key)
        if role not in SPEC_TOPICS:
            raise KeyError(key)
        value: str = getattr(self, role)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(f.name for f in fields(self))

    def __len__(self) -> int:
        return len(SPEC_TOPICS)


_ROLE_BY_DEFAULT = {name: role for role, name in SPEC_TOPICS.items()}


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[str],
    *,
    partitions: int = 3,
    replication_factor: int = 1,
    ready_within: float = 60.0,
) -> list[str]:
    """Create the topics that do not exist yet and wait until every partition has a leader.

    Idempotent; existing topics are left as they are. Returns the names that were created.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    wanted = list(dict.fromkeys(topics))
    created: list[str] = []
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        deadline = time.monotonic() + ready_within
        missing = [t for t in wanted if t not in set(await admin.list_topics())]
        while missing:
            response = await admin.create_topics(
                [NewTopic(t, partitions, replication_factor) for t in missing]
            )
            retry: list[str] = []
            for entry in response.to_object()["topic_errors"]:
                name, code = entry["topic"], entry["error_code"]
                if code == 0:
                    created.append(name)
                elif code in _RETRIABLE:
                    retry.append(name)
                elif code != _TOPIC_ALREADY_EXISTS:
                    message = entry.get("error_message") or f"error code {code}"
                    raise DevStackError(f"cannot create topic {name!r}: {message}")
            missing = retry
            if missing:
                if time.monotonic() > deadline:
                    raise DevStackError(f"cannot create topics {missing}: broker not ready")
                await asyncio.sleep(0.5)
        await _wait_for_leaders(admin, wanted, deadline)
    finally:
        await admin.close()
    return created


async def _wait_for_leaders(admin: Any, topics: list[str], deadline: float) -> None:
    if not topics:
        return
    while True:
        described = await admin.describe_topics(topics)
        ready = {
            t["topic"]
            for t in described
            if t["error_code"] == 0
            and t["partitions"]
            and all(p["error_code"] == 0 and p["leader"] >= 0 for p in t["partitions"])
        }
        if ready >= set(topics):
            return
        if time.monotonic() > deadline:
            raise DevStackError(f"topics without leaders: {sorted(set(topics) - ready)}")
        await asyncio.sleep(0.2)


async def delete_topics(bootstrap_servers: str, topics: Iterable[str]) -> None:
    """Delete topics, ignoring the ones that do not exist."""
    from aiokafka.admin import AIOKafkaAdminClient

    names = list(dict.fromkeys(topics))
    if not names:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    await admin.start()
    try:
        response = await admin.delete_topics(names)
        for entry in response.to_object()["topic_error_codes"]:
            if entry["error_code"] not in (0, _UNKNOWN_TOPIC):
                raise DevStackError(
                    f"cannot delete topic {entry['topic']!r}: error code {entry['error_code']}"
                )
    finally:
        await admin.close()


def ensure_topics_sync(
    bootstrap_servers: str, topics: Iterable[str], *, partitions: int = 3
) -> list[str]:
    """Blocking variant of :func:`ensure_topics`."""
    names = list(topics)
    return run_sync(lambda: ensure_topics(bootstrap_servers, names, partitions=partitions))
