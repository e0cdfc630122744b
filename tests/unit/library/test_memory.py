"""The batch collector: no collection by allocation counts, cycles still freed between batches."""

from __future__ import annotations

import gc
import weakref

from orderlens.memory import BatchCollector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_a_cycle_left_by_a_batch_is_freed_between_batches_and_the_default_comes_back() -> None:
    collector = BatchCollector(young_every=2)
    collector.start()
    try:
        assert not gc.isenabled()
        for batch in range(1, 201):  # young, middle and full collections in turn
            node = _Node()
            gone = weakref.ref(node)
            del node
            assert gone() is not None  # nothing collects during a batch
            collector.between_batches()
            if batch % 2 == 0:
                assert gone() is None
            else:
                assert gone() is not None  # kept for the next collection
    finally:
        collector.stop()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
