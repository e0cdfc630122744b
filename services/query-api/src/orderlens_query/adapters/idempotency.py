"""The `idempotency_keys` collection: a retried action answers the first answer, publishing once.

A key belongs to the caller (`sub`), so two users cannot collide or read each other's answers.
The record is written before publishing, with the event id, so a concurrent retry finds it and
answers the same event id; it is removed again if publishing fails, so the retry can publish.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document
from orderlens_query.problems import ProblemException

COLLECTION = "idempotency_keys"
KEY_REUSED = "this Idempotency-Key was already used for a different request"

Answer = TypeVar("Answer", bound=BaseModel)


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    response: dict[str, Any]


def replay(answer: type[Answer], stored: Stored, print_: str, **overrides: Any) -> Answer:
    """The stored answer again, for a request with the same fingerprint; else 422.

    The answer was stored by whichever replica took the key first, possibly a newer one whose
    answer has fields this one does not know: those are dropped here, so the strict
    (`extra="forbid"`) answer model still validates instead of answering 500 (decision 0079).
    """
    if stored.fingerprint != print_:
        raise ProblemException(422, KEY_REUSED)
    known = {k: v for k, v in stored.response.items() if k in answer.model_fields}
    return answer.model_validate({**known, **overrides})


class IdempotencyStore:
    def __init__(self, db: AsyncDatabase[Document], *, ttl: timedelta) -> None:
        self._keys = db[COLLECTION]
        self._ttl = ttl

    @staticmethod
    def key_id(sub: str, key: str) -> str:
        return f"{sub}\x1f{key}"

    async def find(self, key_id: str, now: datetime) -> Stored | None:
        doc = await self._keys.find_one({"_id": key_id})
        if doc is None:
            return None
        if doc["created_at"] < now - self._ttl:
            await self._keys.delete_one({"_id": key_id, "created_at": doc["created_at"]})
            return None
        return Stored(doc["fingerprint"], doc["response"])

    async def claim(
        self, key_id: str, print_: str, response: dict[str, Any], now: datetime
    ) -> Stored | None:
        """Record the answer; the record already there when another request won the race."""
        try:
            await self._keys.insert_one(
                {"_id": key_id, "fingerprint": print_, "response": response, "created_at": now}
            )
        except DuplicateKeyError:
            return await self.find(key_id, now)
        return None

    async def release(self, key_id: str) -> None:
        await self._keys.delete_one({"_id": key_id})


@dataclass
class IdempotentRequest(Generic[Answer]):
    """The one Idempotency-Key flow of every accepting use case (actions, exports):
    `earlier()` before deciding, `claim(answer)` before the side effect, `release()` when the
    side effect failed. Without a key every step is a no-op."""

    keys: IdempotencyStore
    key_id: str | None
    print_: str
    answer: type[Answer]
    now: datetime
    overrides: dict[str, Any]

    async def earlier(self) -> Answer | None:
        if self.key_id is None:
            return None
        stored = await self.keys.find(self.key_id, self.now)
        return None if stored is None else self._replay(stored)

    async def claim(self, answer: Answer) -> Answer | None:
        """None once the key is ours; the winner's answer when another request took it."""
        if self.key_id is None:
            return None
        winner = await self.keys.claim(
            self.key_id, self.print_, answer.model_dump(mode="json"), self.now
        )
        return None if winner is None else self._replay(winner)

    async def release(self) -> None:
        if self.key_id is not None:
            await self.keys.release(self.key_id)

    def _replay(self, stored: Stored) -> Answer:
        return replay(self.answer, stored, self.print_, **self.overrides)


def idempotent(
    keys: IdempotencyStore,
    sub: str,
    key: str | None,
    print_: str,
    answer: type[Answer],
    now: datetime,
    **overrides: Any,
) -> IdempotentRequest[Answer]:
    """The flow for `sub`'s request with Idempotency-Key `key` (None: no key)."""
    key_id = None if key is None else IdempotencyStore.key_id(sub, key)
    return IdempotentRequest(keys, key_id, print_, answer, now, overrides)


async def ensure_indexes(db: AsyncDatabase[Document], ttl: timedelta) -> None:
    """Expire old keys (a TTL index; `find` ignores expired ones anyway, should the server
    be late removing them)."""
    await create_missing_indexes(
        db[COLLECTION],
        [
            IndexModel(
                "created_at", expireAfterSeconds=int(ttl.total_seconds()), name="ttl_created_at"
            )
        ],
    )
