"""The garbage collector of a service that turns many events into many short-lived objects.

CPython collects its youngest generation every 700 net allocations, and each collection of the
oldest generation walks every live object. order-ingest validates and builds tens of thousands of
pydantic objects per batch, nearly all freed by reference counting, while it keeps thousands of
stored orders (`KnownOrders`): measured, the collector took 40% of its CPU time (7.1 s of
Python CPU for 5,000 orders with their status changes, 4.3 s with the collector off, 4.7 s with
the thresholds below; docs/decisions/0198). Reference cycles are rare in this code; those there
are still get collected, less often.
"""

from __future__ import annotations

import gc

#: (first generation, second, third): objects allocated before a young collection, then young
#: collections per middle one, middle ones per full one.
THROUGHPUT_THRESHOLDS = (50_000, 20, 100)


def tune_for_throughput(thresholds: tuple[int, int, int] = THROUGHPUT_THRESHOLDS) -> None:
    """Collect less often, and leave what exists now (modules, settings, clients: the start-up's
    objects, alive for the whole process) out of every later collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
