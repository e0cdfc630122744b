"""The notifier's own collections: the buyers' contact per order (`notifier_contacts`, from the
order snapshots, with the mails waiting for it) and the mail log (`notifier_mails`) that makes each
mail go out once (decision 0186)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.indexes import create_missing_indexes
from orderlens.mongo import Document
from orderlens.notifications import RETENTION, MailKind, MailNotice

CONTACTS_COLLECTION = "notifier_contacts"
MAILS_COLLECTION = "notifier_mails"

MAIL_INDEXES = [
    IndexModel([("order_id", ASCENDING)], name="order_id"),
    IndexModel(
        [("claimed_at", ASCENDING)],
        name="claimed_ttl",
        expireAfterSeconds=int(RETENTION.total_seconds()),
    ),
]


@dataclass(frozen=True)
class Contact:
    order_id: str
    shop_id: str
    buyer_user_id: str | None
    email: str | None


class Claim(StrEnum):
    NEW = "new"  # never tried: send it
    UNFINISHED = "unfinished"  # a try that may have stopped before the file was written: again
    SENT = "sent"  # done: nothing to do


class Contacts:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._contacts = db[CONTACTS_COLLECTION]

    async def remember(self, contacts: Sequence[Contact]) -> dict[str, list[MailNotice]]:
        """Store a batch's contacts in one bulk write (the last per order counts, as when they
        were written one by one); answer the mails waiting for them, per order. They stay stored
        until `forget`: a batch redelivered after a crash finds them again, and the mail log sends
        each once (decisions 0186, 0211)."""
        latest = {contact.order_id: contact for contact in contacts}
        if not latest:
            return {}
        await self._contacts.bulk_write(
            [
                UpdateOne(
                    {"_id": order_id},
                    {
                        "$set": {
                            "shop_id": contact.shop_id,
                            "buyer_user_id": contact.buyer_user_id,
                            "email": contact.email,
                            "known": True,
                        }
                    },
                    upsert=True,
                )
                for order_id, contact in sorted(latest.items())
            ],
            ordered=False,
        )
        # Read after the write: a mail `wait` adds from now on finds the contact and goes at once.
        waiting: dict[str, list[MailNotice]] = {}
        found = self._contacts.find(
            {"_id": {"$in": sorted(latest)}, "waiting": {"$exists": True}}, {"waiting": 1}
        )
        async for doc in found:
            if doc["waiting"]:
                waiting[doc["_id"]] = [_notice(w) for w in doc["waiting"]]
        return waiting

    async def forget(self, waiting: Mapping[str, Sequence[MailNotice]]) -> None:
        """Drop the waiting mails `remember` answered, once they were handled."""
        ops = [
            UpdateOne(
                {"_id": order_id},
                {"$pull": {"waiting": {"key": {"$in": [notice.key for notice in notices]}}}},
            )
            for order_id, notices in sorted(waiting.items())
            if notices
        ]
        if ops:
            await self._contacts.bulk_write(ops, ordered=False)

    async def get(self, order_id: str) -> Contact | None:
        doc = await self._contacts.find_one({"_id": order_id})
        if doc is None or not doc.get("known"):
            return None
        return Contact(order_id, doc["shop_id"], doc.get("buyer_user_id"), doc.get("email"))

    async def wait(self, notice: MailNotice) -> Contact | None:
        """Keep the mail until the order's snapshot arrives (a status event may come first);
        answers the contact instead when it arrived meanwhile (then the mail goes out now)."""
        doc = await self._contacts.find_one_and_update(
            {"_id": notice.order_id},
            {"$addToSet": {"waiting": dataclasses.asdict(notice)}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None or not doc.get("known"):
            return None
        await self._contacts.update_one(
            {"_id": notice.order_id}, {"$pull": {"waiting": {"key": notice.key}}}
        )
        return Contact(notice.order_id, doc["shop_id"], doc.get("buyer_user_id"), doc.get("email"))


def _notice(raw: dict[str, Any]) -> MailNotice:
    return MailNotice(**{**raw, "kind": MailKind(raw["kind"])})


class MailLog:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._mails = db[MAILS_COLLECTION]

    async def ensure_indexes(self) -> None:
        await create_missing_indexes(self._mails, MAIL_INDEXES)

    async def claim(self, notice: MailNotice, to: str, file_name: str) -> Claim:
        try:
            await self._mails.insert_one(
                {
                    "_id": notice.key,
                    "order_id": notice.order_id,
                    "kind": notice.kind.value,
                    "event_id": notice.event_id,
                    "to": to,
                    "file": file_name,
                    "sent": False,
                    "claimed_at": datetime.now(UTC),
                }
            )
        except DuplicateKeyError:
            doc = await self._mails.find_one({"_id": notice.key}, {"sent": 1})
            return Claim.SENT if doc and doc.get("sent") else Claim.UNFINISHED
        return Claim.NEW

    async def sent(self, notice: MailNotice) -> None:
        await self._mails.update_one(
            {"_id": notice.key}, {"$set": {"sent": True, "sent_at": datetime.now(UTC)}}
        )
