"""The inbox's answers, derived from the stored item (`orderlens.notifications.InboxItem`): its
own fields minus the internal ones (roles, recipient, hidden_for, read_by, event_id), plus
`read` for the caller."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from orderlens.notifications import InboxKind
from orderlens_query.models.common import ApiModel

INTERNAL_FIELDS = frozenset({"roles", "recipient", "hidden_for", "read_by", "event_id"})


class InboxItemView(ApiModel):
    id: str = Field(examples=["inb-3f0c5a9e1b2d4c6f8a7e9d0b"])
    kind: InboxKind
    shops: list[str]
    title: str = Field(examples=["Delivery issue"])
    detail: str | None = Field(default=None, examples=["Order 5764…: exception (Address unknown)"])
    order_id: str | None = None
    export_id: str | None = None
    created_at: datetime
    read: bool = Field(description="Whether you marked it read.")


class InboxPage(ApiModel):
    items: list[InboxItemView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    unread: int = Field(description="Your unread items, all kinds (whatever the filters).")


class MarkedAll(ApiModel):
    marked: int = Field(description="Items that were unread and are now read.")
