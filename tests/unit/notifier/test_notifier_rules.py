"""The notification rules (orderlens.notifications) and the notifier's use cases, with in-memory
fakes of its adapters: what an event is worth, once, for whom."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orderlens.events import (
    CheckpointData,
    OrderCreated,
    PackageUpdate,
    StatusChanged,
    StatusSource,
    make_event,
)
from orderlens.notifications import (
    EmailPreferences,
    InboxItem,
    InboxKind,
    InboxPreferences,
    MailKind,
    MailNotice,
    NotificationPreferences,
    inbox_roles,
    notices_for_created,
    notices_for_status,
)
from orderlens.roles import Role
from orderlens.tiktok import TikTokOrder
from orderlens_notifier.adapters.mail_log import Claim, Contact
from orderlens_notifier.service import Notifier, handle_order_events
from orderlens_query.models.inbox import INTERNAL_FIELDS, InboxItemView

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _created(order_id: str, age: timedelta, status: str = "AWAITING_SHIPMENT") -> OrderCreated:
    created = int((NOW - age).timestamp())
    return OrderCreated(
        shop_id="s1",
        order=TikTokOrder.model_validate(
            {
                "id": order_id,
                "status": status,
                "create_time": created,
                "update_time": created,
                "payment": {"currency": "USD", "total_amount": "1.00"},
                "line_items": [{"id": "l1", "sku_id": "k", "product_name": "p", "sale_price": "1"}],
                "user_id": "u1",
                "buyer_email": "u1@example.com",
            }
        ),
    )


def _tracking(order_id: str, status: str, *checkpoints: tuple[datetime, str]) -> StatusChanged:
    return StatusChanged(
        order_id=order_id,
        shop_id="s1",
        occurred_at=NOW,
        source=StatusSource.CARRIER,
        package=PackageUpdate(
            package_id="p1",
            tracking_number="T1",
            tracking_status=status,
            checkpoints=[CheckpointData(at=at, status=s) for at, s in checkpoints],
        ),
    )


def test_preference_fields_are_the_kinds() -> None:
    assert set(InboxPreferences.model_fields) == {k.value for k in InboxKind}
    assert set(EmailPreferences.model_fields) == {k.value for k in MailKind}
    prefs = NotificationPreferences.from_off(["new_order"], ["delivered"])
    assert prefs.inbox_off() == ["new_order"]
    assert prefs.email_off() == ["delivered"]


def test_the_inbox_view_is_the_stored_item_minus_internal_fields() -> None:
    stored = set(InboxItem.model_fields)
    assert set(InboxItemView.model_fields) - {"read"} == stored - INTERNAL_FIELDS


def test_export_items_are_for_roles_that_may_export() -> None:
    assert Role.CUSTOMER_SERVICE not in inbox_roles(InboxKind.EXPORT_FINISHED)
    assert Role.ANALYST in inbox_roles(InboxKind.EXPORT_FINISHED)
    assert Role.CUSTOMER_SERVICE in inbox_roles(InboxKind.NEW_ORDER)
    assert Role.BUYER not in inbox_roles(InboxKind.NEW_ORDER)


def test_only_recent_orders_are_new() -> None:
    fresh = make_event(_created("o1", timedelta(hours=1)), source="t", subject="o1", time=NOW)
    old = make_event(_created("o2", timedelta(days=30)), source="t", subject="o2", time=NOW)
    window = timedelta(hours=48)
    assert [n.kind for n in notices_for_created(fresh, new_order_within=window).inbox] == [
        InboxKind.NEW_ORDER
    ]
    assert notices_for_created(old, new_order_within=window).inbox == []


def test_a_repeated_tracking_state_is_one_notice_and_a_new_checkpoint_another() -> None:
    t1, t2 = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    first = _tracking("o1", "EXCEPTION", (t1, "EXCEPTION"))
    # The tracker again: same state, an estimate or an unrelated checkpoint changed.
    again = _tracking("o1", "EXCEPTION", (t1, "EXCEPTION"), (t1, "EXCEPTION"))
    later = _tracking("o1", "FAILED_ATTEMPT", (t1, "EXCEPTION"), (t2, "FAILED_ATTEMPT"))
    ids = [
        notices_for_status(make_event(d, source="t", subject="o1")).inbox[0].id
        for d in (first, again, later)
    ]
    assert ids[0] == ids[1]
    assert ids[2] != ids[0]


def test_shipping_mails_once_per_order_whatever_says_so() -> None:
    seller = StatusChanged(
        order_id="o1",
        shop_id="s1",
        occurred_at=NOW,
        source=StatusSource.SELLER,
        status="AWAITING_COLLECTION",
    )
    carrier = _tracking("o1", "IN_TRANSIT", (NOW, "IN_TRANSIT"))
    keys = {
        notices_for_status(make_event(d, source="t", subject="o1")).mail[0].key
        for d in (seller, carrier)
    }
    assert keys == {"shipped:o1"}


@dataclass
class Fakes:
    items: dict[str, InboxItem] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    waiting: dict[str, list[MailNotice]] = field(default_factory=dict)
    log: dict[str, bool] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    muted_mail: set[tuple[str, MailKind]] = field(default_factory=set)

    async def add(self, item: InboxItem) -> bool:
        if item.id in self.items:
            return False
        self.items[item.id] = item
        return True

    async def muting(self, shops: Sequence[str], kind: InboxKind) -> list[str]:
        return []

    async def mail_wanted(self, buyer_user_id: str, kind: MailKind) -> bool:
        return (buyer_user_id, kind) not in self.muted_mail

    async def remember(self, contacts: Sequence[Contact]) -> Mapping[str, list[MailNotice]]:
        self.contacts.update((contact.order_id, contact) for contact in contacts)
        ids = {contact.order_id for contact in contacts}
        return {order_id: list(self.waiting[order_id]) for order_id in ids & self.waiting.keys()}

    async def forget(self, waiting: Mapping[str, Sequence[MailNotice]]) -> None:
        for order_id, notices in waiting.items():
            left = [n for n in self.waiting.get(order_id, []) if n not in notices]
            self.waiting[order_id] = left

    async def get(self, order_id: str) -> Contact | None:
        return self.contacts.get(order_id)

    async def wait(self, notice: MailNotice) -> Contact | None:
        self.waiting.setdefault(notice.order_id, []).append(notice)
        return None

    async def claim(self, notice: MailNotice, to: str, file_name: str) -> Claim:
        if notice.key not in self.log:
            self.log[notice.key] = False
            return Claim.NEW
        return Claim.SENT if self.log[notice.key] else Claim.UNFINISHED

    async def sent(self, notice: MailNotice) -> None:
        self.log[notice.key] = True

    def send(self, to: str, subject: str, body: str, name: str | None = None) -> Path:
        assert name is not None
        self.files[name] = subject
        return Path(name)


def _notifier(fakes: Fakes) -> Notifier:
    return Notifier(fakes, fakes, fakes, fakes, fakes, "http://c/buyer")


async def test_a_mail_waits_for_the_snapshot_and_goes_once() -> None:
    fakes = Fakes()
    notifier = _notifier(fakes)
    shipped = make_event(
        _tracking("o1", "IN_TRANSIT", (NOW, "IN_TRANSIT")), source="t", subject="o1"
    )
    created = make_event(_created("o1", timedelta(hours=1)), source="t", subject="o1", time=NOW)
    await handle_order_events([shipped], notifier)
    assert fakes.files == {}
    await handle_order_events([created, shipped, created], notifier)
    assert list(fakes.files.values()) == ["Your order o1 has shipped"]
    assert len(fakes.items) == 1


async def test_an_unfinished_mail_is_written_again_under_the_same_name() -> None:
    fakes = Fakes()
    notifier = _notifier(fakes)
    fakes.contacts["o1"] = Contact("o1", "s1", "u1", "u1@example.com")
    fakes.log["shipped:o1"] = False  # claimed, then the process stopped before "sent"
    shipped = make_event(
        _tracking("o1", "IN_TRANSIT", (NOW, "IN_TRANSIT")), source="t", subject="o1"
    )
    await handle_order_events([shipped, shipped], notifier)
    assert len(fakes.files) == 1
    assert fakes.log["shipped:o1"] is True


async def test_a_muted_kind_sends_nothing() -> None:
    fakes = Fakes()
    fakes.muted_mail.add(("u1", MailKind.DELIVERED))
    fakes.contacts["o1"] = Contact("o1", "s1", "u1", "u1@example.com")
    delivered = make_event(
        _tracking("o1", "DELIVERED", (NOW, "DELIVERED")), source="t", subject="o1"
    )
    await handle_order_events([delivered], _notifier(fakes))
    assert fakes.files == {}
