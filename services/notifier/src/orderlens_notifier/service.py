"""The notifier's use cases: order events → inbox items and buyer mails; export completions →
inbox items; the stalled-parcel sweep. Plain async functions taking their adapters (decisions
0185–0187); the rules of what an event is worth are `orderlens.notifications`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from orderlens.domain.export import ExportRecord
from orderlens.events import CloudEvent, ExportCompleted, OrderCreated, StatusChanged
from orderlens.mail_outbox import message_name
from orderlens.notifications import (
    InboxItem,
    InboxKind,
    InboxNotice,
    MailKind,
    MailNotice,
    buyer_order_url,
    export_notice,
    mail_text,
    notices_for_created,
    notices_for_status,
    stalled_notice,
)

from .adapters.mail_log import Claim, Contact
from .adapters.metrics import INBOX_ITEMS, MAILS
from .adapters.orders_reader import StalledOrder

log = logging.getLogger("orderlens.notifier")


class Inbox(Protocol):
    async def add(self, item: InboxItem) -> bool: ...


class Preferences(Protocol):
    async def muting(self, shops: Sequence[str], kind: InboxKind) -> list[str]: ...
    async def mail_wanted(self, buyer_user_id: str, kind: MailKind) -> bool: ...


class ContactBook(Protocol):
    async def remember(self, contacts: Sequence[Contact]) -> Mapping[str, list[MailNotice]]: ...
    async def forget(self, waiting: Mapping[str, Sequence[MailNotice]]) -> None: ...
    async def get(self, order_id: str) -> Contact | None: ...
    async def wait(self, notice: MailNotice) -> Contact | None: ...


class Mails(Protocol):
    async def claim(self, notice: MailNotice, to: str, file_name: str) -> Claim: ...
    async def sent(self, notice: MailNotice) -> None: ...


class Outbox(Protocol):
    def send(self, to: str, subject: str, body: str, name: str | None = None) -> Path: ...


class Orders(Protocol):
    async def shops(self) -> list[str]: ...
    async def stalled(
        self, shop_id: str, hours: int, now: datetime, limit: int
    ) -> list[StalledOrder]: ...
    async def export(self, export_id: str) -> ExportRecord | None: ...


@dataclass(frozen=True)
class Notifier:
    """The adapters one notifier uses, and its few settings."""

    inbox: Inbox
    preferences: Preferences
    contacts: ContactBook
    mails: Mails
    outbox: Outbox
    buyer_pages_url: str
    new_order_within: timedelta = timedelta(hours=48)


@dataclass
class Result:
    items: int = 0
    mails: int = 0
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1


async def post(notice: InboxNotice, notifier: Notifier) -> bool:
    """Write the notice's item once; the users who switched its kind off never see it."""
    hidden_for = await notifier.preferences.muting(notice.shops, notice.kind)
    written = await notifier.inbox.add(notice.item(hidden_for))
    if written:
        INBOX_ITEMS.labels(notice.kind.value).inc()
    return written


async def deliver(notice: MailNotice, contact: Contact, notifier: Notifier) -> bool:
    """Mail the buyer once per notice key (decision 0186): the log is claimed before the file is
    written under a name fixed by the key, so a retry after a crash rewrites the same message."""
    kind = notice.kind.value
    if not contact.email or not contact.buyer_user_id:
        MAILS.labels(kind, "no_address").inc()
        return False
    if not await notifier.preferences.mail_wanted(contact.buyer_user_id, notice.kind):
        MAILS.labels(kind, "muted").inc()
        return False
    name = message_name(notice.key)
    claim = await notifier.mails.claim(notice, contact.email, name)
    if claim == Claim.SENT:
        MAILS.labels(kind, "duplicate").inc()
        return False
    subject, body = mail_text(notice, buyer_order_url(notifier.buyer_pages_url, notice.order_id))
    notifier.outbox.send(contact.email, subject, body, name=name)
    await notifier.mails.sent(notice)
    MAILS.labels(kind, "sent").inc()
    return True


async def mail(notice: MailNotice, notifier: Notifier) -> bool:
    contact = await notifier.contacts.get(notice.order_id)
    if contact is None:
        contact = await notifier.contacts.wait(notice)
        if contact is None:
            MAILS.labels(notice.kind.value, "waiting").inc()
            return False
    return await deliver(notice, contact, notifier)


async def handle_order_events(events: Sequence[CloudEvent[Any]], notifier: Notifier) -> Result:
    """A batch of orders.created and orders.status-changed events, in order. Idempotent: every
    write is keyed by what it is about, so a redelivered batch writes nothing new.

    The batch's contacts are stored first, in one write (decision 0211): a status mail of an
    order created later in the batch then goes out at once instead of waiting for it. The mails
    that waited for a contact go out with its order's created event and are forgotten last, so
    a batch redelivered after a crash still finds them (the mail log sends each once)."""
    result = Result()
    waiting = await notifier.contacts.remember(
        [
            Contact(data.order.id, data.shop_id, data.order.user_id, data.order.buyer_email)
            for data in (event.data for event in events)
            if isinstance(data, OrderCreated)
        ]
    )
    unsent = dict(waiting)
    for event in events:
        data = event.data
        if isinstance(data, OrderCreated):
            notices = notices_for_created(event, new_order_within=notifier.new_order_within)
            mails = [*unsent.pop(data.order.id, []), *notices.mail]
        elif isinstance(data, StatusChanged):
            notices = notices_for_status(event)
            mails = notices.mail
        else:
            result.ignore("unexpected type")
            continue
        if not notices.inbox and not mails:
            result.ignore("nothing to tell")
        for notice in notices.inbox:
            result.items += await post(notice, notifier)
        for mail_notice in mails:
            result.mails += await mail(mail_notice, notifier)
    await notifier.contacts.forget(waiting)
    return result


async def handle_export_completions(
    events: Sequence[CloudEvent[ExportCompleted]], notifier: Notifier, orders: Orders
) -> Result:
    result = Result()
    for event in events:
        record = await orders.export(event.data.export_id)
        if record is None:
            # query-api writes the record before it publishes the request: a completion without
            # one is not ours (another deployment's topic, or a record already purged).
            log.warning("export %s has no record; no inbox item", event.data.export_id)
            result.ignore("unknown export")
            continue
        result.items += await post(export_notice(event, record), notifier)
    return result


async def sweep_stalled(
    notifier: Notifier, orders: Orders, *, hours: int, now: datetime, limit: int
) -> int:
    """Post one item per stall: in transit with no checkpoint for `hours` (the list's filter)."""
    posted = 0
    for shop_id in await orders.shops():
        for order in await orders.stalled(shop_id, hours, now, limit):
            notice = stalled_notice(order.order_id, order.shop_id, order.last_checkpoint_at, now)
            posted += await post(notice, notifier)
    return posted
