"""Notifications for people (docs/contract.md §5.7): the seller inbox, the buyer's shipping mails
and every user's preferences, as data and plain rules.

The notifier (services/notifier) turns order and export events into inbox items and mails with
these rules; query-api serves the inbox and the preferences with the same models. Decisions 0185
(who writes what), 0186 (exactly once), 0187 (which events are worth a notice).

API:
- `InboxKind`, `MailKind`; `INBOX_PERMISSION[kind]` and `inbox_roles(kind)`: the seller roles that
  may see an item of a kind (docs/contract.md §5.1: export-finished needs the export permission).
- `InboxItem`: an inbox item as stored (collection `inbox_items`), `item_id(kind, shops, key)`.
- `NotificationPreferences` (with `InboxPreferences`, `EmailPreferences`): what a user wants,
  every kind on unless switched off; `StoredPreferences`: the document (`notification_preferences`).
- `InboxNotice`, `MailNotice`: what an event is worth; `notices_for_created`,
  `notices_for_status`, `stalled_notice`, `export_notice` derive them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orderlens.domain.export import ExportRecord
from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus
from orderlens.events import (
    CheckpointData,
    CloudEvent,
    ExportCompleted,
    OrderCreated,
    StatusChanged,
)
from orderlens.roles import SELLER_ROLES, Permission, Role, has_permission

INBOX_COLLECTION = "inbox_items"
# Items (and the notifier's mail log) are kept this long, then MongoDB's TTL removes them: an
# inbox is for what needs attention now, not an archive (decision 0185).
RETENTION = timedelta(days=90)
# A carrier's message or an export error is shown as it came, up to this length.
MAX_DETAIL = 500
PREFERENCES_COLLECTION = "notification_preferences"


class InboxKind(StrEnum):
    NEW_ORDER = "new_order"
    # TikTok Shop's cancellation requests and return requests both arrive as a return status.
    RETURN_REQUESTED = "return_requested"
    DELIVERY_ISSUE = "delivery_issue"
    PARCEL_STALLED = "parcel_stalled"
    EXPORT_FINISHED = "export_finished"


class MailKind(StrEnum):
    SHIPPED = "shipped"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_ISSUE = "delivery_issue"


INBOX_PERMISSION: dict[InboxKind, Permission] = {
    InboxKind.NEW_ORDER: Permission.READ_ORDERS,
    InboxKind.RETURN_REQUESTED: Permission.READ_ORDERS,
    InboxKind.DELIVERY_ISSUE: Permission.READ_ORDERS,
    InboxKind.PARCEL_STALLED: Permission.READ_ORDERS,
    InboxKind.EXPORT_FINISHED: Permission.EXPORT,
}

INBOX_TITLES: dict[InboxKind, str] = {
    InboxKind.NEW_ORDER: "New order",
    InboxKind.RETURN_REQUESTED: "Cancellation or return requested",
    InboxKind.DELIVERY_ISSUE: "Delivery issue",
    InboxKind.PARCEL_STALLED: "Parcel stalled",
    InboxKind.EXPORT_FINISHED: "Export finished",
}

ISSUE_STATUSES = frozenset(
    {TrackingStatus.FAILED_ATTEMPT, TrackingStatus.EXCEPTION, TrackingStatus.RETURNED_TO_SENDER}
)
SHIPPED_STATUSES = frozenset({OrderStatus.AWAITING_COLLECTION, OrderStatus.IN_TRANSIT})
# A tracking status that says the parcel has left the seller.
COLLECTED_TRACKING = frozenset({TrackingStatus.IN_TRANSIT})


def inbox_roles(kind: InboxKind) -> list[Role]:
    permission = INBOX_PERMISSION[kind]
    return sorted(r for r in SELLER_ROLES if has_permission(r, permission))


def item_id(kind: InboxKind, shops: list[str], key: str) -> str:
    """The same notice always gets the same id: a redelivered event finds its item written."""
    raw = "|".join([kind.value, ",".join(sorted(shops)), key])
    return f"inb-{hashlib.sha256(raw.encode()).hexdigest()[:24]}"


class InboxItem(BaseModel):
    """One inbox item as stored; `id` is `_id`. The notifier writes every field but `read_by`,
    which query-api alone writes (decision 0185)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    kind: InboxKind
    shops: list[str] = Field(min_length=1)
    # The seller roles that may see it (docs/contract.md §5.1), fixed when it was written.
    roles: list[Role]
    # Set for an item meant for one user (their export); None: everyone of the shop and roles.
    recipient: str | None = None
    # Users (`sub`) who had switched this kind off when the item was written.
    hidden_for: list[str] = Field(default_factory=list)
    read_by: list[str] = Field(default_factory=list)
    title: str
    detail: str | None = None
    order_id: str | None = None
    export_id: str | None = None
    event_id: str
    created_at: datetime

    def to_document(self) -> dict[str, Any]:
        doc = self.model_dump(mode="python", exclude={"id", "read_by"})
        return {"_id": self.id, **doc}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> InboxItem:
        data = {k: v for k, v in doc.items() if k != "_id"}
        return cls.model_validate({"id": doc["_id"], **data})


def visible_to(sub: str, role: Role, shops: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The MongoDB filter of the items a caller may see: their shops and role, not hidden from
    them by their preferences, and addressed to everyone or to them."""
    return {
        "shops": {"$in": list(shops)},
        "roles": role.value,
        "hidden_for": {"$ne": sub},
        "recipient": {"$in": [None, sub]},
    }


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InboxPreferences(_Strict):
    """Which inbox items a seller wants; the field names are the `InboxKind` values."""

    new_order: bool = True
    return_requested: bool = True
    delivery_issue: bool = True
    parcel_stalled: bool = True
    export_finished: bool = True


class EmailPreferences(_Strict):
    """Which e-mails a buyer wants; the field names are the `MailKind` values."""

    shipped: bool = True
    out_for_delivery: bool = True
    delivered: bool = True
    delivery_issue: bool = True


class NotificationPreferences(_Strict):
    inbox: InboxPreferences = Field(default_factory=InboxPreferences)
    email: EmailPreferences = Field(default_factory=EmailPreferences)

    def inbox_off(self) -> list[str]:
        return sorted(k for k, on in self.inbox.model_dump().items() if not on)

    def email_off(self) -> list[str]:
        return sorted(k for k, on in self.email.model_dump().items() if not on)

    @classmethod
    def from_off(cls, inbox_off: list[str], email_off: list[str]) -> NotificationPreferences:
        inbox = {k: k not in inbox_off for k in InboxPreferences.model_fields}
        email = {k: k not in email_off for k in EmailPreferences.model_fields}
        return cls(inbox=InboxPreferences(**inbox), email=EmailPreferences(**email))


class StoredPreferences(BaseModel):
    """The document: keyed by the user's `sub`; the shops and buyer id let the notifier find the
    users a notice concerns (`inbox_off` per shop, `email_off` per buyer)."""

    model_config = ConfigDict(extra="ignore")

    sub: str
    role: Role
    shops: list[str]
    buyer_user_id: str | None = None
    inbox_off: list[InboxKind] = Field(default_factory=list)
    email_off: list[MailKind] = Field(default_factory=list)
    updated_at: datetime

    def to_document(self) -> dict[str, Any]:
        return {"_id": self.sub, **self.model_dump(mode="python", exclude={"sub"})}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StoredPreferences:
        data = {k: v for k, v in doc.items() if k != "_id"}
        return cls.model_validate({"sub": doc["_id"], **data})


# -- what an event is worth ------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxNotice:
    kind: InboxKind
    shops: list[str]
    # What makes two notices the same one (an order, an export, a checkpoint): the item id.
    key: str
    event_id: str
    created_at: datetime
    detail: str | None = None
    order_id: str | None = None
    export_id: str | None = None
    recipient: str | None = None

    @property
    def id(self) -> str:
        return item_id(self.kind, self.shops, self.key)

    def item(self, hidden_for: list[str]) -> InboxItem:
        return InboxItem(
            id=self.id,
            kind=self.kind,
            shops=sorted(self.shops),
            roles=inbox_roles(self.kind),
            recipient=self.recipient,
            hidden_for=sorted(hidden_for),
            title=INBOX_TITLES[self.kind],
            detail=self.detail[:MAX_DETAIL] if self.detail else None,
            order_id=self.order_id,
            export_id=self.export_id,
            event_id=self.event_id,
            created_at=self.created_at,
        )


@dataclass(frozen=True)
class MailNotice:
    kind: MailKind
    order_id: str
    shop_id: str
    # One mail per key (decision 0187): once per order for shipped and delivered, once per
    # carrier checkpoint for out-for-delivery and delivery issues.
    key: str
    event_id: str
    detail: str | None = None


@dataclass(frozen=True)
class Notices:
    inbox: list[InboxNotice]
    mail: list[MailNotice]


def _order_time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def notices_for_created(event: CloudEvent[OrderCreated], *, new_order_within: timedelta) -> Notices:
    """A snapshot: a new order when it was created recently (a backfill of old orders is not
    news), and the buyer's shipped / delivered mail when TikTok Shop says so."""
    data = event.data
    order = data.order
    inbox: list[InboxNotice] = []
    created = _order_time(order.create_time)
    if event.time - created <= new_order_within:
        inbox.append(
            InboxNotice(
                InboxKind.NEW_ORDER,
                [data.shop_id],
                order.id,
                event.id,
                created,
                detail=f"Order {order.id}",
                order_id=order.id,
            )
        )
    mail: list[MailNotice] = []
    status = order.status
    if status in SHIPPED_STATUSES:
        mail.append(_shipped(order.id, data.shop_id, event.id))
    elif status == OrderStatus.DELIVERED:
        mail.append(_delivered(order.id, data.shop_id, event.id))
    return Notices(inbox, mail)


def _shipped(order_id: str, shop_id: str, event_id: str) -> MailNotice:
    return MailNotice(MailKind.SHIPPED, order_id, shop_id, f"shipped:{order_id}", event_id)


def _delivered(order_id: str, shop_id: str, event_id: str) -> MailNotice:
    return MailNotice(MailKind.DELIVERED, order_id, shop_id, f"delivered:{order_id}", event_id)


def _latest(checkpoints: list[CheckpointData], statuses: frozenset[TrackingStatus]) -> str | None:
    at = [c.at for c in checkpoints if c.status in statuses]
    return max(at).astimezone(UTC).isoformat() if at else None


def notices_for_status(event: CloudEvent[StatusChanged]) -> Notices:
    data = event.data
    order_id, shop = data.order_id, data.shop_id
    inbox: list[InboxNotice] = []
    mail: list[MailNotice] = []
    if data.return_status == ReturnStatus.REQUESTED:
        inbox.append(
            InboxNotice(
                InboxKind.RETURN_REQUESTED,
                [shop],
                f"{order_id}:{event.id}",
                event.id,
                data.occurred_at,
                detail=data.reason or f"Order {order_id}",
                order_id=order_id,
            )
        )
    if data.status in SHIPPED_STATUSES:
        mail.append(_shipped(order_id, shop, event.id))
    if data.status == OrderStatus.DELIVERED:
        mail.append(_delivered(order_id, shop, event.id))
    package = data.package
    if package is not None and package.tracking_status is not None:
        tracking = package.tracking_status
        parcel = package.package_id or package.tracking_number or ""
        # The tracker repeats the tracking status with every new checkpoint: a notice belongs
        # to the checkpoint that reported the state, not to each event (decision 0187).
        if tracking in ISSUE_STATUSES:
            moment = _latest(package.checkpoints, ISSUE_STATUSES) or event.id
            message = next(
                (c.message for c in reversed(package.checkpoints) if c.status in ISSUE_STATUSES),
                None,
            )
            detail = f"Order {order_id}: {tracking.value.replace('_', ' ').lower()}"
            if message:
                detail += f" ({message})"
            key = f"{order_id}:{parcel}:{moment}"
            inbox.append(
                InboxNotice(
                    InboxKind.DELIVERY_ISSUE,
                    [shop],
                    key,
                    event.id,
                    data.occurred_at,
                    detail=detail,
                    order_id=order_id,
                )
            )
            mail.append(
                MailNotice(
                    MailKind.DELIVERY_ISSUE, order_id, shop, f"issue:{key}", event.id, message
                )
            )
        elif tracking == TrackingStatus.OUT_FOR_DELIVERY:
            moment = _latest(package.checkpoints, frozenset({tracking})) or event.id
            mail.append(
                MailNotice(
                    MailKind.OUT_FOR_DELIVERY,
                    order_id,
                    shop,
                    f"out:{order_id}:{parcel}:{moment}",
                    event.id,
                )
            )
        elif tracking == TrackingStatus.DELIVERED:
            mail.append(_delivered(order_id, shop, event.id))
        elif tracking in COLLECTED_TRACKING:
            mail.append(_shipped(order_id, shop, event.id))
    return Notices(inbox, _unique(mail))


def _unique(mail: list[MailNotice]) -> list[MailNotice]:
    seen: set[str] = set()
    out = []
    for notice in mail:
        if notice.key not in seen:
            seen.add(notice.key)
            out.append(notice)
    return out


def stalled_notice(
    order_id: str, shop_id: str, last_checkpoint_at: datetime | None, now: datetime
) -> InboxNotice:
    """One notice per stall: a parcel that moves and stalls again is a new one."""
    since = last_checkpoint_at.astimezone(UTC).isoformat() if last_checkpoint_at else "never"
    return InboxNotice(
        InboxKind.PARCEL_STALLED,
        [shop_id],
        f"{order_id}:{since}",
        f"stalled:{order_id}:{since}",
        now,
        detail=f"Order {order_id}: no carrier news since {since}",
        order_id=order_id,
    )


def export_notice(event: CloudEvent[ExportCompleted], record: ExportRecord) -> InboxNotice:
    data = event.data
    if data.status == "succeeded":
        detail = f"{data.rows} rows, {data.file_name or record.format.value}"
    else:
        detail = f"failed: {data.error or 'unknown error'}"
    return InboxNotice(
        InboxKind.EXPORT_FINISHED,
        list(record.shop_ids),
        data.export_id,
        event.id,
        event.time,
        detail=detail,
        export_id=data.export_id,
        recipient=record.requested_by,
    )


MAIL_SUBJECTS: dict[MailKind, str] = {
    MailKind.SHIPPED: "Your order {order_id} has shipped",
    MailKind.OUT_FOR_DELIVERY: "Your order {order_id} is out for delivery",
    MailKind.DELIVERED: "Your order {order_id} was delivered",
    MailKind.DELIVERY_ISSUE: "A problem with the delivery of your order {order_id}",
}

MAIL_LINES: dict[MailKind, str] = {
    MailKind.SHIPPED: "Good news: your order {order_id} is on its way.",
    MailKind.OUT_FOR_DELIVERY: "Your order {order_id} is out for delivery today.",
    MailKind.DELIVERED: "Your order {order_id} was delivered.",
    MailKind.DELIVERY_ISSUE: "The carrier reports a problem delivering your order {order_id}.",
}


def buyer_order_url(base: str, order_id: str) -> str:
    return f"{base.rstrip('/')}/orders/{order_id}"


def mail_text(notice: MailNotice, order_url: str) -> tuple[str, str]:
    """Subject and body of a buyer mail."""
    subject = MAIL_SUBJECTS[notice.kind].format(order_id=notice.order_id)
    lines = [MAIL_LINES[notice.kind].format(order_id=notice.order_id)]
    if notice.detail:
        lines.append(f"The carrier says: {notice.detail[:MAX_DETAIL]}")
    lines += ["", f"Follow your order here: {order_url}", ""]
    return subject, "\n".join(lines)
