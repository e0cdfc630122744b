"""The buyers' contacts (`notifier_contacts`) on the real MongoDB-wire server: a consumed batch
stores them in one bulk write (decision 0211), with what writing them one by one stored, and a
redelivered batch changes nothing and sends no mail twice."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from ntf_support import SHOP, new_order_id, order_event, status_event
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandListener, CommandStartedEvent

from orderlens.events import CloudEvent, StatusSource
from orderlens.mail_outbox import FileOutbox
from orderlens_notifier.adapters.inbox_store import InboxStore, PreferencesReader
from orderlens_notifier.adapters.mail_log import CONTACTS_COLLECTION, Contact, Contacts, MailLog
from orderlens_notifier.service import Notifier, handle_order_events


class ContactWrites(CommandListener):
    """Counts the write commands sent to the contacts collection."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: CommandStartedEvent) -> None:
        if event.command_name in ("update", "insert", "findAndModify"):
            self.count += event.command.get(event.command_name) == CONTACTS_COLLECTION

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


@pytest_asyncio.fixture
async def watched(
    mongodb_uri: str, mongo_db_name: str
) -> AsyncIterator[tuple[AsyncDatabase[dict[str, Any]], ContactWrites]]:
    writes = ContactWrites()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_uri, tz_aware=True, event_listeners=[writes]
    )
    try:
        yield client[mongo_db_name], writes
    finally:
        await client.close()


async def stored(db: AsyncDatabase[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc async for doc in db[CONTACTS_COLLECTION].find({}).sort("_id", 1)]


async def test_a_batch_of_contacts_is_one_write_and_a_redelivery_changes_nothing(
    watched: tuple[AsyncDatabase[dict[str, Any]], ContactWrites],
) -> None:
    db, writes = watched
    contacts = Contacts(db)
    batch = [Contact(f"o{n:03}", SHOP, f"buyer-{n}", f"buyer-{n}@example.com") for n in range(60)]
    # An order's snapshot twice in one batch, the later one changed (a buyer who left the
    # address out first): the later one counts, as when each was written in turn.
    batch.append(Contact("o007", SHOP, "buyer-7", None))
    batch.append(Contact("o008", SHOP, None, None))

    assert await contacts.remember(batch) == {}
    assert writes.count == 1
    # What writing them one by one stored: the latest contact per order, known.
    latest = {c.order_id: c for c in batch}
    expected = [
        {
            "_id": c.order_id,
            "shop_id": c.shop_id,
            "buyer_user_id": c.buyer_user_id,
            "email": c.email,
            "known": True,
        }
        for c in sorted(latest.values(), key=lambda c: c.order_id)
    ]
    assert await stored(db) == expected
    assert await contacts.get("o007") == Contact("o007", SHOP, "buyer-7", None)

    await contacts.remember(batch)  # redelivered
    assert writes.count == 2
    assert await stored(db) == expected


def mails_in(outbox: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        found.append((str(message["To"]), str(message["Subject"])))
    return sorted(found)


class BrokenOnce(FileOutbox):
    """The real file outbox, which fails once at its `fail_at`-th message (a crash mid-batch)."""

    def __init__(self, directory: Path, fail_at: int) -> None:
        super().__init__(directory, "orders@example.com")
        self.calls = 0
        self.fail_at = fail_at

    def send(self, to: str, subject: str, body: str, name: str | None = None) -> Path:
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSError("disk full")
        return super().send(to, subject, body, name)


async def test_mails_that_waited_for_their_contact_go_once_after_a_crash_mid_batch(
    mongo_db: AsyncDatabase[dict[str, Any]], tmp_path: Path
) -> None:
    outbox = BrokenOnce(tmp_path / "outbox", fail_at=2)
    notifier = Notifier(
        inbox=InboxStore(mongo_db),
        preferences=PreferencesReader(mongo_db),
        contacts=Contacts(mongo_db),
        mails=MailLog(mongo_db),
        outbox=outbox,
        buyer_pages_url="http://console.test/buyer",
    )
    orders = [new_order_id() for _ in range(3)]
    shipped = [
        status_event(
            o, status="AWAITING_COLLECTION", tracking="INFO_RECEIVED", source=StatusSource.SELLER
        )
        for o in orders
    ]
    # The seller's shipping arrives before the order snapshots: the mails wait for a contact.
    await handle_order_events(shipped, notifier)
    assert mails_in(tmp_path / "outbox") == []

    created: list[CloudEvent[Any]] = [
        order_event(o, buyer=f"buyer-{o}", email_to=f"{o}@example.com") for o in orders
    ]
    with pytest.raises(OSError, match="disk full"):
        await handle_order_events(created, notifier)  # the second waiting mail fails
    assert len(mails_in(tmp_path / "outbox")) == 1

    await handle_order_events(created, notifier)  # the batch comes again
    expected = sorted((f"{o}@example.com", f"Your order {o} has shipped") for o in orders)
    assert mails_in(tmp_path / "outbox") == expected
    after = await stored(mongo_db)
    assert [doc["waiting"] for doc in after] == [[], [], []]
    assert [(doc["_id"], doc["email"], doc["known"]) for doc in after] == sorted(
        (o, f"{o}@example.com", True) for o in orders
    )

    await handle_order_events([*created, *shipped], notifier)  # and again, with the shipping
    assert mails_in(tmp_path / "outbox") == expected
    assert await stored(mongo_db) == after
