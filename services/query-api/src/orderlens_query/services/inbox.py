"""The seller inbox (docs/contract.md §5.7): list, unread count, mark read or unread. Every read
and write is limited by `orderlens.notifications.visible_to`: the token's shops and role, never
another shop's item or one meant for someone else."""

from __future__ import annotations

from typing import Any

from orderlens.filters import decode_cursor, encode_cursor
from orderlens.notifications import InboxItem, InboxKind, visible_to
from orderlens.tokens import Principal
from orderlens_query.adapters.export_records import NEWEST_FIRST
from orderlens_query.adapters.inbox_store import InboxStore
from orderlens_query.models.inbox import InboxItemView, InboxPage


def _visible(principal: Principal) -> dict[str, Any]:
    return visible_to(principal.sub, principal.role, principal.shops)


def unread_query(principal: Principal) -> dict[str, Any]:
    return {**_visible(principal), "read_by": {"$ne": principal.sub}}


def item_view(item: InboxItem, principal: Principal) -> InboxItemView:
    data = item.model_dump(include=set(InboxItemView.model_fields) - {"read"})
    return InboxItemView(**data, read=principal.sub in item.read_by)


async def list_inbox(
    principal: Principal,
    store: InboxStore,
    *,
    kind: InboxKind | None,
    unread: bool | None,
    order_id: str | None,
    limit: int,
    cursor: str | None,
    cursor_key: bytes,
) -> InboxPage:
    """Newest first, keyset-paged with the lists' signed cursor; `unread` counts every unread
    item the caller may see, whatever the filters (the console's badge)."""
    query = _visible(principal)
    if kind is not None:
        query["kind"] = kind.value
    if unread is True:
        query["read_by"] = {"$ne": principal.sub}
    elif unread is False:
        query["read_by"] = principal.sub
    if order_id is not None:
        query["order_id"] = order_id
    after = decode_cursor(NEWEST_FIRST, cursor, cursor_key) if cursor else None
    found = await store.page(query, after=after, limit=limit + 1)
    page = found[:limit]
    next_cursor = (
        encode_cursor(NEWEST_FIRST, page[-1].to_document(), cursor_key)
        if len(found) > limit and page
        else None
    )
    return InboxPage(
        items=[item_view(item, principal) for item in page],
        next_cursor=next_cursor,
        unread=await store.count(unread_query(principal)),
    )


async def mark(
    principal: Principal, store: InboxStore, item_id: str, *, read: bool
) -> InboxItemView | None:
    """None when the caller may not see the item (answered 404, like another shop's order)."""
    query = {**_visible(principal), "_id": item_id}
    if not await store.set_read(query, principal.sub, read):
        return None
    item = await store.get(query)
    return None if item is None else item_view(item, principal)


async def mark_all_read(principal: Principal, store: InboxStore) -> int:
    return await store.read_all(_visible(principal), principal.sub)
