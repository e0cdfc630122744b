"""The MongoDB client factory: PyMongo's native asyncio client (Motor reached end of life)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]

# What one reply of a read that streams documents should hold at most: MongoDB's own cap per
# batch, a third of the 48 MB message PyMongo accepts (`maxMessageSizeBytes`). mongo-java-server
# caps a reply only by the batch size the read names, and without one sends every matching
# document in one reply, which PyMongo then refuses (docs/decisions/0220).
REPLY_BYTES = 16 * 1024 * 1024
# A whole order document, generously: its history, and its packages with their checkpoints (the
# seed generator's orders are 2.4 KB, 4.4 KB with their history). 128 to a reply, about
# MongoDB's own first batch (101). Reads of a projection of orders may use it too.
ORDER_BYTES = 128 * 1024
_MAX_BATCH = 10_000


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


def batch_size_for(document_bytes: int) -> int:
    """Documents per batch of a read whose documents are at most `document_bytes` each, so that a
    reply holds at most `REPLY_BYTES` (1 to 10,000; docs/decisions/0220)."""
    return max(1, min(REPLY_BYTES // max(document_bytes, 1), _MAX_BATCH))


def stream(
    collection: AsyncCollection[Document],
    query: Mapping[str, Any],
    projection: Mapping[str, Any] | None = None,
    *,
    document_bytes: int,
    **options: Any,
) -> AsyncCursor[Document]:
    """`collection.find(query, projection, **options)` in batches of `batch_size_for(
    document_bytes)`: every read that may match more documents than one reply holds goes through
    here (docs/decisions/0220). `document_bytes` is the largest document (of `projection`) the
    read expects; a batch of documents up to 2.8 times larger still arrives (48 MB)."""
    return collection.find(
        dict(query), projection, batch_size=batch_size_for(document_bytes), **options
    )


async def find_by_ids(
    collection: AsyncCollection[Document],
    ids: Iterable[Any],
    projection: Mapping[str, Any] | None = None,
    *,
    chunk: int | None = None,
    document_bytes: int = ORDER_BYTES,
) -> AsyncIterator[Document]:
    """The documents of `collection` whose `_id` is among `ids`: one `_id: {$in}` read, or one
    per `chunk` ids where the server's cost of such a read grows with the square of the list
    (`ServerCapabilities.id_list_chunk`, docs/decisions/0143), streamed (`stream`: documents of
    at most `document_bytes`, a whole order by default)."""
    wanted = sorted(set(ids))
    step = chunk or len(wanted) or 1
    for start in range(0, len(wanted), step):
        part = wanted[start : start + step]
        found = stream(
            collection, {"_id": {"$in": part}}, projection, document_bytes=document_bytes
        )
        async for doc in found:
            yield doc
