"""`wait_for`: true at once, true later, never true, and a check that never answers."""

from __future__ import annotations

import asyncio

import pytest

from orderlens import waiting
from orderlens.waiting import wait_for


async def test_returns_as_soon_as_the_condition_holds() -> None:
    calls: list[int] = []

    async def third_time() -> bool:
        calls.append(1)
        return len(calls) == 3

    await wait_for(third_time, 5, "the third call", every=0.01)
    assert len(calls) == 3


async def test_a_condition_that_stays_false_fails_naming_what_was_awaited() -> None:
    async def never() -> bool:
        return False

    with pytest.raises(AssertionError, match=r"not within 0.05s: the order listed$"):
        await wait_for(never, 0.05, "the order listed", every=0.01)


async def test_a_check_that_never_answers_fails_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(waiting, "ANSWER_GRACE", 0.05)
    hung = asyncio.Event()

    async def hangs() -> bool:
        await hung.wait()
        return True

    with pytest.raises(AssertionError, match="the order listed \\(the check did not answer\\)"):
        await wait_for(hangs, 0.05, "the order listed")
