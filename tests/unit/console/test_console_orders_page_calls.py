"""The orders page asks query-api for the tab counts and the list at once (the page waits for
the slower of the two, not their sum: docs/decisions/0200), and still shows what it has when one
of them fails."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from orderlens_console.adapters.query_api import ApiError, Params, QueryApi
from orderlens_console.service import orders_page

pytestmark = pytest.mark.unit

ROW = {"id": "o1", "status": "AWAITING_SHIPMENT", "total": {"amount": "1.00", "currency": "USD"}}


class TwoCalls(QueryApi):
    """The two reads of the page; each waits until the other has been asked."""

    def __init__(self, *, counts_fail: bool = False, list_fails: bool = False) -> None:
        self.asked: list[str] = []
        self._both = asyncio.Event()
        self._counts_fail, self._list_fails = counts_fail, list_fails

    async def _asked(self, name: str) -> None:
        self.asked.append(name)
        if len(self.asked) == 2:
            self._both.set()
        await self._both.wait()

    async def counts(self, token: str, params: Params) -> dict[str, Any]:
        await self._asked("counts")
        if self._counts_fail:
            raise ApiError(503, "counts unavailable")
        return {"by_view": {"to_ship": 7}}

    async def list_orders(self, token: str, params: Params) -> dict[str, Any]:
        await self._asked("list")
        if self._list_fails:
            raise ApiError(504, "list timed out")
        return {"items": [ROW], "next_cursor": "c2"}


async def page_of(api: TwoCalls) -> Any:
    async with asyncio.timeout(10):  # a page asking one call after the other never gets here
        return await orders_page(api, "token", [("view", "to_ship")], "UTC")


async def test_counts_and_list_are_asked_at_once() -> None:
    api = TwoCalls()
    page = await page_of(api)
    assert sorted(api.asked) == ["counts", "list"]
    assert [r["id"] for r in page.items] == ["o1"]
    assert page.items[0]["view"] == "to_ship"
    assert page.next_cursor == "c2"
    assert next(t["count"] for t in page.tabs if t["view"] == "to_ship") == 7
    assert page.error is None


async def test_failed_counts_show_their_error_and_no_rows() -> None:
    page = await page_of(TwoCalls(counts_fail=True))
    assert page.error == "counts unavailable (503)"
    assert page.items == []
    assert {t["count"] for t in page.tabs} == {None}


async def test_a_failed_list_keeps_the_counts() -> None:
    page = await page_of(TwoCalls(list_fails=True))
    assert page.error == "list timed out (504)"
    assert page.items == []
    assert next(t["count"] for t in page.tabs if t["view"] == "to_ship") == 7
