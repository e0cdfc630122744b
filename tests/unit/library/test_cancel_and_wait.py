"""`cancel_and_wait` ends a task even when a library loses its first cancellation (0229)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from orderlens.lifecycle import cancel_and_wait


async def _loses_one_cancel(rounds: list[int]) -> None:
    """A worker loop whose call eats one cancellation, as Python 3.11's `wait_for` does when
    the inner future completes at the same moment (what PyMongo's sends go through)."""
    lost = False
    while True:
        rounds.append(1)
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if lost:
                raise
            lost = True  # the call "completed": its result is returned, the cancel is gone


async def test_a_task_that_lost_its_first_cancellation_is_still_stopped() -> None:
    rounds: list[int] = []
    task = asyncio.create_task(_loses_one_cancel(rounds))
    await asyncio.sleep(0.03)

    left = await cancel_and_wait(task, every=0.05)

    assert left == set()
    assert task.cancelled()


async def test_a_single_cancel_is_not_enough_for_that_task() -> None:
    """The reason the helper exists: with one cancel() the loop goes on."""
    rounds: list[int] = []
    task = asyncio.create_task(_loses_one_cancel(rounds))
    await asyncio.sleep(0.03)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=0.2)
    assert not done
    before = len(rounds)
    await asyncio.sleep(0.05)
    assert len(rounds) > before  # still looping
    assert await cancel_and_wait(task) == set()


async def test_a_task_that_never_stops_is_returned_not_waited_for_forever(
    caplog: pytest.LogCaptureFixture,
) -> None:
    released = asyncio.Event()

    async def stubborn() -> None:
        while not released.is_set():
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, "orderlens.lifecycle"):
        left = await cancel_and_wait(task, within=0.3, every=0.05)
    assert left == {task}
    assert "still running" in caplog.text
    released.set()
    assert await cancel_and_wait(task) == set()


async def test_finished_and_failed_tasks_are_fine_and_their_errors_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fails())
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.WARNING, "orderlens.lifecycle"):
        assert await cancel_and_wait(done, failed) == set()
    assert "boom" in caplog.text
