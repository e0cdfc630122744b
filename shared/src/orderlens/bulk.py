"""`bulk_write` in chunks small enough for FerretDB 1.24 (docs/decisions/0033).

FerretDB 1.24 (SQLite) hangs for good, and blocks the whole server, when one `update` command
modifies 100 or more existing documents (ReplaceOne / UpdateOne batches; `update_many` is fine).
Every batched write of orderlens goes through `bulk_write_chunked`, whose chunks stay below that.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError
from pymongo.results import BulkWriteResult

from orderlens.mongo import Document

# Strictly below FerretDB's 100: leaves room for a driver that merges adjacent commands.
CHUNK = 50


async def bulk_write_chunked(
    collection: AsyncCollection[Document],
    ops: Sequence[Any],
    *,
    chunk: int = CHUNK,
) -> ChunkedResult:
    """`collection.bulk_write(ops, ordered=False)` in chunks of `chunk` operations.

    Every chunk is attempted. Write errors (duplicate keys...) are collected with their index in
    `ops` and raised together at the end as one `BulkWriteError`, as an unordered bulk would."""
    result = ChunkedResult()
    errors: list[dict[str, Any]] = []
    for start in range(0, len(ops), chunk):
        part = ops[start : start + chunk]
        try:
            outcome: BulkWriteResult = await collection.bulk_write(list(part), ordered=False)
        except BulkWriteError as exc:
            details: Any = exc.details
            result.add(details)
            for error in details.get("writeErrors", []):
                errors.append({**error, "index": int(error["index"]) + start})
        else:
            result.add(outcome.bulk_api_result)
    if errors:
        raise BulkWriteError({**result.details(), "writeErrors": errors, "writeConcernErrors": []})
    return result


class ChunkedResult:
    """The summed counts of the chunks (the fields of `BulkWriteResult` orderlens reads)."""

    def __init__(self) -> None:
        self.inserted_count = 0
        self.matched_count = 0
        self.modified_count = 0
        self.deleted_count = 0
        self.upserted_count = 0

    def add(self, raw: Any) -> None:
        self.inserted_count += int(raw.get("nInserted", 0))
        self.matched_count += int(raw.get("nMatched", 0))
        self.modified_count += int(raw.get("nModified", 0))
        self.deleted_count += int(raw.get("nRemoved", 0))
        self.upserted_count += int(raw.get("nUpserted", 0))

    def details(self) -> dict[str, Any]:
        return {
            "nInserted": self.inserted_count,
            "nMatched": self.matched_count,
            "nModified": self.modified_count,
            "nRemoved": self.deleted_count,
            "nUpserted": self.upserted_count,
            "upserted": [],
        }
