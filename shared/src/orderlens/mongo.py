"""The MongoDB client factory: PyMongo's native asyncio client (Motor reached end of life)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]


def make_client(
    uri: str, *, app_name: str, timeout_ms: int = 5_000, socket_timeout_ms: int | None = None
) -> AsyncMongoClient[Document]:
    """A client that fails fast when the server is down, so callers can back off and retry.

    Retryable writes are on (the driver retries a write once after a network error or a
    primary step-down, where the server supports sessions; every write of orderlens is
    idempotent by design anyway, so callers also retry themselves). `socket_timeout_ms` must
    exceed the longest query a caller allows (`maxTimeMS`), or the socket gives up first.
    """
    return AsyncMongoClient(
        uri,
        appname=app_name,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=socket_timeout_ms or max(timeout_ms * 6, 30_000),
        retryWrites=True,
    )


def database(client: AsyncMongoClient[Document], name: str) -> AsyncDatabase[Document]:
    return client.get_database(name)


async def ping(client: AsyncMongoClient[Document]) -> bool:
    try:
        await client.admin.command("ping")
    except Exception:  # readiness probe: any failure means "not ready"
        return False
    return True


async def find_by_ids(
    collection: AsyncCollection[Document],
    ids: Iterable[Any],
    projection: Mapping[str, Any] | None = None,
    *,
    chunk: int | None = None,
) -> AsyncIterator[Document]:
    """The documents of `collection` whose `_id` is among `ids`: one `_id: {$in}` read, or one
    per `chunk` ids where the server's cost of such a read grows with the square of the list
    (`ServerCapabilities.id_list_chunk`, docs/decisions/0143)."""
    wanted = sorted(set(ids))
    step = chunk or len(wanted) or 1
    for start in range(0, len(wanted), step):
        part = wanted[start : start + step]
        async for doc in collection.find({"_id": {"$in": part}}, projection):
            yield doc
