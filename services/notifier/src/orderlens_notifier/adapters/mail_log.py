"""The notifier's own collections: the buyers' contact per order (`notifier_contacts`, from the
order snapshots, with the mails waiting for it) and the mail log (`notifier_mails`) that makes each
mail go out once (decision 0186)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
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

    async def remember(self, contact: Contact) -> list[MailNotice]:
        """Store the order's contact; answer (and forget) the mails that were waiting for it."""
        before = await self._contacts.find_one_and_update(
            {"_id": contact.order_id},
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
        waiting = (before or {}).get("waiting") or []
        if waiting:
            await self._contacts.update_one(
                {"_id": contact.order_id},
                {"$pull": {"waiting": {"key": {"$in": [w["key"] for w in waiting]}}}},
            )
        return [_notice(w) for w in waiting]

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
