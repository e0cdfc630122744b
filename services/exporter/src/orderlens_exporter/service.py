"""The exporter's service layer: accept requests, claim jobs, run them, sweep what is left.

The Kafka consumer calls `accept_all`; the worker loop calls `claim_next`, `run` and `sweep`. The
adapters (MongoDB repository, per-shop slots, order source, file store, event publisher) are
passed in, so the rules here are testable without servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from orderlens.consumer import Outcome, is_transient
from orderlens.domain.export import (
    ExportRecord,
    ExportStatus,
    download_name,
    file_key,
    is_valid_export_id,
)
from orderlens.events import CloudEvent, ExportRequested
from orderlens.export_events import record_from_request
from orderlens.filestore import FileStore
from orderlens.lifecycle import cancel_and_wait
from orderlens.mongo import Document
from orderlens_exporter import metrics
from orderlens_exporter.adapters.repository import ExportRepository
from orderlens_exporter.adapters.slots import ShopSlots
from orderlens_exporter.pipeline import (
    ExportPlan,
    InvalidExport,
    Progress,
    plan_export,
    write_export,
)

log = logging.getLogger("orderlens.exporter")


Clock = Callable[[], datetime]
Publish = Callable[[ExportRecord], Awaitable[None]]


class OrderSource(Protocol):
    async def count(self, mongo_filter: Document) -> int: ...

    def batches(self, mongo_filter: Document) -> AsyncGenerator[list[Document], None]: ...


@dataclass(frozen=True)
class ExportConfig:
    owner: str
    lease: timedelta = timedelta(seconds=60)
    progress_interval: float = 1.0
    retention: timedelta = timedelta(hours=72)
    max_attempts: int = 5
    retry_delay: timedelta = timedelta(seconds=10)
    rows_per_sheet: int = 1_048_575
    claim_scan: int = 50


MAX_RETRY_DELAY = timedelta(minutes=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


def retry_delay(base: timedelta, attempt: int) -> timedelta:
    """Doubling waits after failed attempts, so that an outage of minutes fails nothing."""
    delay: timedelta = base * (2 ** max(attempt - 1, 0))
    return min(delay, MAX_RETRY_DELAY)


class _LeaseLost(Exception):
    pass


class ExportService:
    def __init__(
        self,
        *,
        repo: ExportRepository,
        slots: ShopSlots,
        orders: OrderSource,
        store: FileStore,
        publish: Publish,
        config: ExportConfig,
        clock: Clock = utc_now,
    ) -> None:
        self.repo = repo
        self.slots = slots
        self.orders = orders
        self.store = store
        self.publish = publish
        self.config = config
        self.clock = clock

    # -- requests ---------------------------------------------------------------------------

    async def accept(self, request: ExportRequested, *, event_id: str) -> bool:
        """Record a requested export as a queued job (idempotent); True when it was new.

        query-api stores the record before publishing, so usually it exists already; an event
        from elsewhere still becomes a job.
        """
        if not is_valid_export_id(request.export_id):
            raise InvalidExport(f"export id {request.export_id!r} is not a safe identifier")
        record = record_from_request(request, now=self.clock(), event_id=event_id)
        return await self.repo.insert_if_absent(record)

    async def accept_all(self, requests: Sequence[CloudEvent[ExportRequested]]) -> Outcome:
        """`accept` each request of a batch, in order; a redelivered one counts as a duplicate."""
        outcome = Outcome()
        for event in requests:
            if await self.accept(event.data, event_id=event.id):
                outcome.applied += 1
            else:
                outcome.ignore("duplicate")
        return outcome

    # -- claiming ---------------------------------------------------------------------------

    async def claim_next(self) -> ExportRecord | None:
        """Claim the oldest due export whose shops all have a free slot; None when none can."""
        now = self.clock()
        # Shops found full in this pass: the exports waiting behind them cost no more writes.
        full: set[str] = set()
        for seen in await self.repo.claimable(now, self.config.claim_scan):
            if seen.status == ExportStatus.RUNNING and seen.attempts >= self.config.max_attempts:
                await self._abandon(seen, now)
                continue
            if full.intersection(seen.shop_ids):
                continue
            claimed = await self._claim(seen, now, full)
            if claimed is not None:
                return claimed
        return None

    async def _claim(
        self, seen: ExportRecord, now: datetime, full: set[str]
    ) -> ExportRecord | None:
        owner, lease = self.config.owner, self.config.lease
        attempt = seen.attempts + 1
        if not await self.repo.lock_attempt(seen.id, attempt, owner=owner, now=now, lease=lease):
            return None
        blocked = await self.slots.acquire(seen.id, attempt, seen.shop_ids, now=now)
        if blocked is not None:
            full.add(blocked)
            await self.repo.unlock_attempt(seen.id, attempt, owner=owner)
            return None
        # Stamped now, not when the scan began: the slots may have been freed only just now.
        record = await self.repo.start(seen, owner=owner, now=self.clock(), lease=lease)
        if record is None:
            await self.slots.release(seen.id, attempt)
            await self.repo.unlock_attempt(seen.id, attempt, owner=owner)
            return None
        if seen.attempts:
            # The slots of the attempt whose worker died.
            await self.slots.release(seen.id, seen.attempts)
        log.info(
            "export claimed",
            extra={"export_id": record.id, "attempt": record.attempts, "owner": owner},
        )
        return record

    async def _abandon(self, seen: ExportRecord, now: datetime) -> None:
        error = (
            f"stopped after {seen.attempts} attempts: the worker running it stopped "
            "responding each time"
        )
        if await self.repo.fail_abandoned(
            seen, now=now, error=error, expires_at=now + self.config.retention
        ):
            metrics.EXPORTS.labels("failed").inc()
            await self.slots.release(seen.id, seen.attempts)
            await self._finished(seen.id)

    # -- running ----------------------------------------------------------------------------

    async def run(self, record: ExportRecord) -> ExportStatus | None:
        """Run a claimed export to its end; the status it reached (None: lease lost)."""
        metrics.EXPORTS_RUNNING.inc()
        try:
            return await self._run(record)
        finally:
            metrics.EXPORTS_RUNNING.dec()

    async def _run(self, record: ExportRecord) -> ExportStatus | None:
        started = time.monotonic()
        progress = Progress()
        body = asyncio.create_task(self._produce(record, progress))
        keeper = asyncio.create_task(self._keep_lease(record, progress))
        try:
            await asyncio.wait({body, keeper}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            # Shutting down: give the export back at once rather than after its lease.
            await self._stop_tasks(body, keeper)
            with contextlib.suppress(Exception):
                await self.repo.requeue(
                    record, now=self.clock(), error="worker shut down", not_before=self.clock()
                )
                await self.slots.release(record.id, record.attempts)
            raise
        if not body.done():
            await self._stop_tasks(body, keeper)
            metrics.EXPORTS.labels("lost_lease").inc()
            log.warning("export lease lost; stopped", extra={"export_id": record.id})
            return None
        await cancel_and_wait(keeper)
        try:
            status = await self._settle(record, body, started)
        finally:
            await self.slots.release(record.id, record.attempts)
        if status in (ExportStatus.SUCCEEDED, ExportStatus.FAILED):
            await self._finished(record.id)
        return status

    @staticmethod
    async def _stop_tasks(*tasks: asyncio.Task[Any]) -> None:
        await cancel_and_wait(*tasks)

    async def _produce(self, record: ExportRecord, progress: Progress) -> tuple[str, int, Any]:
        """Write and store the file; (key, rows, stored file)."""
        plan: ExportPlan = plan_export(record)
        key = file_key(record.id, record.attempts, record.format)
        staged = self.store.staging_path(key)
        # The total is for progress only: counted alongside the export, since a count may cost
        # a scan of its own; progress stays 0 until it is known.
        counting = asyncio.create_task(self.orders.count(plan.mongo_filter))
        counting.add_done_callback(lambda task: _set_total(progress, task))
        try:
            rows = await write_export(
                plan,
                self.orders.batches(plan.mongo_filter),
                staged,
                progress,
                scratch_dir=staged.parent,
                rows_per_sheet=self.config.rows_per_sheet,
                on_rows=metrics.EXPORT_ROWS.labels(record.format.value).inc,
            )
            stored = await self.store.commit(staged, key)
        finally:
            counting.cancel()
            await self.store.discard(staged)
        return key, rows, stored

    async def _settle(
        self, record: ExportRecord, body: asyncio.Task[tuple[str, int, Any]], started: float
    ) -> ExportStatus | None:
        now = self.clock()
        expires_at = now + self.config.retention
        error = body.exception()
        if error is None:
            key, rows, stored = body.result()
            name = download_name(record.id, record.format)
            recorded = await self._durably(
                record,
                lambda: self.repo.succeed(
                    record,
                    now=now,
                    stored=stored,
                    file_name=name,
                    rows=rows,
                    expires_at=expires_at,
                ),
            )
            if recorded:
                metrics.EXPORTS.labels("succeeded").inc()
                metrics.EXPORT_DURATION.labels(record.format.value).observe(
                    time.monotonic() - started
                )
                log.info(
                    "export succeeded",
                    extra={"export_id": record.id, "rows": rows, "bytes": stored.bytes},
                )
                return ExportStatus.SUCCEEDED
            # Another attempt owns the export now; this file is nobody's.
            await self.store.delete(key)
            metrics.EXPORTS.labels("lost_lease").inc()
            return None
        if isinstance(error, InvalidExport):
            return await self._fail(record, str(error), now)
        if record.attempts >= self.config.max_attempts:
            return await self._fail(record, f"{_describe(error)} (attempt {record.attempts})", now)
        kind = "transient" if is_transient(error) else "unexpected"
        log.warning(
            "export attempt failed (%s), will retry: %s",
            kind,
            _describe(error),
            extra={"export_id": record.id, "attempt": record.attempts},
            exc_info=kind == "unexpected",
        )
        with contextlib.suppress(Exception):
            await self.repo.requeue(
                record,
                now=now,
                error=_describe(error),
                not_before=now + retry_delay(self.config.retry_delay, record.attempts),
            )
        metrics.EXPORTS.labels("retried").inc()
        return ExportStatus.QUEUED

    async def _fail(self, record: ExportRecord, error: str, now: datetime) -> ExportStatus | None:
        log.error("export failed: %s", error, extra={"export_id": record.id})
        failed = await self._durably(
            record,
            lambda: self.repo.fail(
                record, now=now, error=error, expires_at=now + self.config.retention
            ),
        )
        if not failed:
            return None
        metrics.EXPORTS.labels("failed").inc()
        return ExportStatus.FAILED

    async def _durably(self, record: ExportRecord, write: Callable[[], Awaitable[bool]]) -> bool:
        """Retry a final write through a database outage while the lease lasts (after that,
        another worker runs the export again)."""
        deadline = time.monotonic() + self.config.lease.total_seconds()
        delay = 0.2
        while True:
            try:
                return await write()
            except Exception as exc:
                if not is_transient(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning(
                    "cannot record the export outcome yet: %s",
                    _describe(exc),
                    extra={"export_id": record.id},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _keep_lease(self, record: ExportRecord, progress: Progress) -> None:
        """Renew the lease and report progress until the lease is lost (then return)."""
        lease = self.config.lease
        expires = record.lease_expires_at or (self.clock() + lease)
        while True:
            await asyncio.sleep(self.config.progress_interval)
            now = self.clock()
            try:
                held = await self.repo.renew(
                    record,
                    now=now,
                    lease=lease,
                    rows=progress.rows,
                    progress=progress.fraction,
                    orders_total=progress.orders_total,
                )
            except Exception as exc:
                log.warning("cannot renew the export lease: %s", _describe(exc))
                if self.clock() >= expires:
                    return
                continue
            if not held:
                return
            expires = now + lease

    # -- after an export --------------------------------------------------------------------

    async def _finished(self, export_id: str) -> None:
        with contextlib.suppress(Exception):
            await self.repo.forget_claims(export_id)
        record = await self.repo.get(export_id)
        if record is not None:
            await self._announce(record)

    async def _announce(self, record: ExportRecord) -> None:
        """Publish `orders.export-completed`; the sweep retries it until it is acknowledged."""
        try:
            await self.publish(record)
        except Exception as exc:
            log.warning(
                "export-completed not published yet: %s",
                _describe(exc),
                extra={"export_id": record.id},
            )
            return
        await self.repo.mark_published(record)

    # -- sweeping ---------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Completions not yet published, expired files, files nobody points at."""
        for record in await self.repo.unpublished():
            await self._announce(record)
        now = self.clock()
        for record in await self.repo.expired_files(now):
            if record.file_key:
                await self.store.delete(record.file_key)
            await self.repo.mark_file_deleted(record, now)
            log.info("export file expired and deleted", extra={"export_id": record.id})
        # A file committed by an attempt that then lost its lease, or by a worker that died
        # between storing the file and recording it.
        cutoff = now - max(self.config.lease * 2, timedelta(minutes=10))
        live = await self.repo.live_file_keys()
        for stored in await self.store.keys():
            if stored.key not in live and stored.modified_at < cutoff:
                await self.store.delete(stored.key)
        await self.store.purge_staging(now - max(self.config.lease * 6, timedelta(hours=1)))


def _set_total(progress: Progress, counting: asyncio.Task[int]) -> None:
    if not counting.cancelled() and counting.exception() is None:
        progress.orders_total = counting.result()


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:2000]
