"""Notification preferences per user (docs/contract.md §5.7), stored in MongoDB
(`notification_preferences`, keyed by the token's `sub`) for the notifier to respect."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from orderlens.mongo import Document
from orderlens.notifications import (
    PREFERENCES_COLLECTION,
    InboxKind,
    MailKind,
    NotificationPreferences,
    StoredPreferences,
)
from orderlens.tokens import Principal


class PreferencesStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._prefs = db[PREFERENCES_COLLECTION]

    async def get(self, sub: str) -> StoredPreferences | None:
        doc = await self._prefs.find_one({"_id": sub})
        return None if doc is None else StoredPreferences.from_document(doc)

    async def put(self, stored: StoredPreferences) -> None:
        doc = stored.to_document()
        await self._prefs.replace_one({"_id": doc["_id"]}, doc, upsert=True)


async def get_preferences(principal: Principal, store: PreferencesStore) -> NotificationPreferences:
    stored = await store.get(principal.sub)
    if stored is None:
        return NotificationPreferences()
    return NotificationPreferences.from_off(
        [k.value for k in stored.inbox_off], [k.value for k in stored.email_off]
    )


async def put_preferences(
    principal: Principal,
    store: PreferencesStore,
    wanted: NotificationPreferences,
    now: datetime,
) -> NotificationPreferences:
    """Replace the caller's preferences. The token's shops and buyer id are kept with them: the
    notifier finds the users of a shop (inbox) or a buyer (mail) by them."""
    await store.put(
        StoredPreferences(
            sub=principal.sub,
            role=principal.role,
            shops=list(principal.shops),
            buyer_user_id=principal.buyer_user_id,
            inbox_off=[InboxKind(k) for k in wanted.inbox_off()],
            email_off=[MailKind(k) for k in wanted.email_off()],
            updated_at=now,
        )
    )
    return await get_preferences(principal, store)
