"""The garbage collector of a consumer that turns many events into many short-lived objects.

CPython's collector runs whenever 700 more objects have been allocated than freed, and walks the
young objects still alive. order-ingest decodes and builds tens of thousands of pydantic objects
per batch; they stay alive until the batch is done (then reference counting frees them), so
every collection during a batch walked most of the batch again, and promoted it, to be walked
again by the older generations. Measured with CPU time per process (5,000 orders and 28,574
status changes through Kafka into mongo-java-server): 7.1 s of Python CPU with the default
collector, 4.3 s without one; at 20,000 orders the collector still took 5.2 s of 23.5 s with
larger thresholds (docs/decisions/0198).

`BatchCollector` collects between batches instead, when the batch's objects are gone. Cycles
are still collected, a few batches later.
"""

from __future__ import annotations

import gc


class BatchCollector:
    """Collect every `young_every` batches (what the batches since left alive), the middle
    generation every tenth time, everything every hundredth: CPython's own escalation, by
    batches instead of allocations. A collection after every batch walked each batch's new
    stored orders again (28 ms a batch at 20,000 orders); most of them are replaced, and freed,
    within the next batches."""

    def __init__(self, young_every: int = 10) -> None:
        self.young_every = young_every
        self.batches = 0

    def start(self) -> None:
        """Collect once, leave what exists now (modules, settings, clients: alive for the whole
        process) out of every later collection, and stop collecting by allocation counts."""
        gc.collect()
        gc.freeze()
        gc.disable()

    def stop(self) -> None:
        """Back to CPython's schedule (a test process runs several services in turn)."""
        gc.unfreeze()
        gc.enable()

    def between_batches(self) -> None:
        self.batches += 1
        every = self.young_every
        if self.batches % (every * 100) == 0:
            gc.collect(2)
        elif self.batches % (every * 10) == 0:
            gc.collect(1)
        elif self.batches % every == 0:
            gc.collect(0)
