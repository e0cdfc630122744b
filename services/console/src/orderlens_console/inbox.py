"""The console's inbox use cases (docs/contract.md §5.7): the page, the unread badge, read state
and the seller's preferences, all through query-api with the user's token."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orderlens.notifications import INBOX_TITLES, InboxKind, InboxPreferences
from orderlens_console.adapters.query_api import QueryApi

KIND_CHOICES = [(kind.value, INBOX_TITLES[kind]) for kind in InboxKind]
PAGE_PARAMS = frozenset({"kind", "unread", "cursor"})


@dataclass(frozen=True)
class InboxPage:
    items: list[dict[str, Any]]
    unread: int
    next_cursor: str | None
    preferences: dict[str, bool]


def link_of(item: Mapping[str, Any]) -> str | None:
    if item.get("order_id"):
        return f"/orders/{item['order_id']}"
    if item.get("export_id"):
        return f"/exports/{item['export_id']}"
    return None


async def inbox_page(api: QueryApi, token: str, pairs: list[tuple[str, str]]) -> InboxPage:
    params = [(k, v) for k, v in pairs if k in PAGE_PARAMS and v]
    page = await api.inbox(token, [*params, ("limit", "50")])
    prefs = await api.preferences(token)
    items = [{**item, "link": link_of(item)} for item in page["items"]]
    return InboxPage(items, page["unread"], page["next_cursor"], prefs["inbox"])


async def unread(api: QueryApi, token: str) -> int:
    page = await api.inbox(token, [("limit", "1")])
    count: int = page["unread"]
    return count


async def mark(api: QueryApi, token: str, item_id: str, read: bool) -> None:
    await api.mark_inbox(token, item_id, read)


async def read_all(api: QueryApi, token: str) -> int:
    marked: int = (await api.inbox_read_all(token))["marked"]
    return marked


async def save_preferences(api: QueryApi, token: str, form: Mapping[str, str]) -> None:
    """A checked box is a kind the seller wants; an unchecked one is not sent by the browser.
    The buyer half (e-mail kinds) is kept as it was."""
    current = await api.preferences(token)
    inbox = {kind: kind in form for kind in InboxPreferences.model_fields}
    await api.put_preferences(token, {"inbox": inbox, "email": current["email"]})
