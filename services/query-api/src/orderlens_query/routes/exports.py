"""Exports (docs/contract.md §5.5): request one, follow it, list yours, download the file.

query-api stores the export record (`queued`) before it publishes `orders.export-requested`:
the record is the job, the event only wakes the exporter up, so a request accepted here is never
lost even when Kafka is briefly unavailable (the exporter also polls for queued records).

Access: roles with the export permission (admin, operations, analyst); a record is visible and
downloadable only to a caller with access to every shop in it, and a file written with full PII
only to a role that sees full PII (an analyst never downloads an admin's unmasked file).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from orderlens.domain.export import (
    CONTENT_TYPES,
    EXPORT_ID_PATTERN,
    EXPORTS_COLLECTION,
    ExportRecord,
    ExportStatus,
    covers_shops,
    download_name,
    download_refusal,
    new_export_id,
)
from orderlens.events import ExportFormat, Granularity, make_event, new_event_id
from orderlens.export_events import requested_event_data
from orderlens.filestore import CorruptFile, LocalFileStore, open_verified
from orderlens.filters import FilterError, ParamError, parse_filters, parse_tz
from orderlens.kafka import publish_event
from orderlens.mongo import Document
from orderlens.roles import Role, sees_full_pii
from orderlens.tokens import Principal
from orderlens_query.auth import AppRuntime, CanExport
from orderlens_query.idempotency import IdempotencyStore, Stored, fingerprint, replay
from orderlens_query.problems import ProblemException, problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.runtime import EVENT_SOURCE, Runtime

router = APIRouter(prefix="/v1/exports", tags=["exports"])
log = logging.getLogger(__name__)

# Queued or running exports one caller may have at once (more answer 429): each export scans
# orders, and the per-shop cap only bounds how many run, not how many wait.
MAX_PENDING_PER_CALLER = 20
EXPORT_LOCKS_COLLECTION = "export_request_locks"
PUBLISH_TIMEOUT_SECONDS = 3.0

EXPORT_ID = Annotated[
    str, Path(description="The export id.", min_length=1, max_length=64, pattern=EXPORT_ID_PATTERN)
]


# -- models ---------------------------------------------------------------------------------

# Filter values as in a query string; JSON numbers and booleans are accepted and read as text.
Scalar = str | bool | int | float


def _query_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ExportRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = Field(description="csv or xlsx.")
    granularity: Granularity = Field(
        default=Granularity.LINE, description="line: one row per SKU per order; order: one row."
    )
    filters: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        max_length=40,
        description="The parameters of GET /v1/orders (without paging), e.g. "
        '{"status": ["DELIVERED"], "created_from": "2026-01-01"}. Without `tz`, date-only '
        "bounds are read in this export's `tz`.",
    )
    tz: str = Field(default="UTC", description="IANA zone of the file's times.", max_length=64)


class ExportAccepted(BaseModel):
    export_id: str
    status: ExportStatus


class ExportView(BaseModel):
    export_id: str
    status: ExportStatus
    format: ExportFormat
    granularity: Granularity
    filters: dict[str, str | list[str]]
    tz: str
    shop_ids: list[str]
    requested_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    rows: int = Field(description="Rows written so far (the total once succeeded).")
    progress: float = Field(description="0..1; never decreases.")
    file_name: str | None
    bytes: int | None
    sha256: str | None
    error: str | None
    expires_at: datetime | None
    download_url: str | None = Field(description="Present while the file can be downloaded.")


class ExportPage(BaseModel):
    items: list[ExportView]
    next_cursor: str | None


def _view(record: ExportRecord, now: datetime) -> ExportView:
    downloadable = download_refusal(record, now) is None
    return ExportView(
        export_id=record.id,
        status=record.status,
        format=record.format,
        granularity=record.granularity,
        filters=record.filters,
        tz=record.tz,
        shop_ids=record.shop_ids,
        requested_by=record.requested_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        attempts=record.attempts,
        rows=record.rows,
        progress=record.progress,
        file_name=record.file_name,
        bytes=record.bytes,
        sha256=record.sha256,
        error=record.error,
        expires_at=record.expires_at,
        download_url=f"/v1/exports/{record.id}/download" if downloadable else None,
    )


# -- the records ----------------------------------------------------------------------------


class ExportRecords:
    """The `exports` collection as query-api uses it: create, read, list."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._exports = db[EXPORTS_COLLECTION]

    async def insert(self, record: ExportRecord) -> None:
        await self._exports.insert_one(record.to_document())

    async def get(self, export_id: str) -> ExportRecord | None:
        doc = await self._exports.find_one({"_id": export_id})
        return None if doc is None else ExportRecord.from_document(doc)

    async def pending(self, requested_by: str) -> int:
        return await self._exports.count_documents(
            {
                "requested_by": requested_by,
                "status": {"$in": [ExportStatus.QUEUED.value, ExportStatus.RUNNING.value]},
            }
        )

    async def of_requester(
        self, requested_by: str, *, before: tuple[datetime, str] | None, limit: int
    ) -> list[ExportRecord]:
        query: Document = {"requested_by": requested_by}
        if before is not None:
            at, export_id = before
            query["$or"] = [
                {"created_at": {"$lt": at}},
                {"created_at": at, "_id": {"$lt": export_id}},
            ]
        cursor = self._exports.find(
            query, sort=[("created_at", DESCENDING), ("_id", DESCENDING)], limit=limit
        )
        return [ExportRecord.from_document(doc) async for doc in cursor]


class CallerLock:
    """One export request per caller at a time, so that count-then-insert cannot be raced past
    the cap (issue 17 #4, decision 0073). A lease document per caller (unique `_id`); a lease a
    crashed request left behind expires after `LEASE`."""

    LEASE = timedelta(seconds=10)
    WAIT_SECONDS = 5.0

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._locks = db[EXPORT_LOCKS_COLLECTION]

    async def _take(self, caller: str, token: str) -> bool:
        now = datetime.now(UTC)
        try:
            await self._locks.insert_one({"_id": caller, "token": token, "until": now + self.LEASE})
        except DuplicateKeyError:
            stolen = await self._locks.update_one(
                {"_id": caller, "until": {"$lt": now}},
                {"$set": {"token": token, "until": now + self.LEASE}},
            )
            return stolen.modified_count == 1
        return True

    @contextlib.asynccontextmanager
    async def held(self, caller: str) -> AsyncIterator[None]:
        token = secrets.token_hex(8)
        deadline = time.monotonic() + self.WAIT_SECONDS
        while not await self._take(caller, token):
            if time.monotonic() > deadline:
                raise ProblemException(
                    429,
                    "another export request of yours is being accepted; retry",
                    headers={"Retry-After": "1"},
                )
            await asyncio.sleep(0.02)
        try:
            yield
        finally:
            await self._locks.delete_one({"_id": caller, "token": token})


async def records(runtime: AppRuntime) -> ExportRecords:
    return ExportRecords(runtime.db)


Records = Annotated[ExportRecords, Depends(records)]


def may_read(record: ExportRecord, principal: Principal) -> bool:
    """Every shop of the export, and no more PII in the file than the caller may see."""
    if not covers_shops(record, set(principal.shops)):
        return False
    try:
        full_pii_file = sees_full_pii(Role(record.role))
    except ValueError:
        return False
    return sees_full_pii(principal.role) or not full_pii_file


async def _readable(records: ExportRecords, export_id: str, principal: Principal) -> ExportRecord:
    record = await records.get(export_id)
    if record is None or not may_read(record, principal):
        raise ProblemException(404, f"no export {export_id} among your shops")
    return record


# -- requesting -----------------------------------------------------------------------------


def _checked_request(
    body: ExportRequestBody, principal: Principal
) -> tuple[dict[str, str | list[str]], list[str]]:
    """The filters as stored (with the effective `tz`) and the export's shops; 400/403."""
    try:
        parse_tz(body.tz)
    except ValueError as exc:
        raise FilterError([ParamError("tz", str(exc))]) from None
    filters: dict[str, str | list[str]] = {
        name: [_query_value(v) for v in value] if isinstance(value, list) else _query_value(value)
        for name, value in body.filters.items()
    }
    if not str(filters.get("tz", "")).strip():
        filters["tz"] = body.tz
    try:
        parsed = parse_filters(filters)
    except FilterError as exc:
        raise FilterError(
            [ParamError(f"filters.{e.param}", e.message) for e in exc.errors]
        ) from None
    allowed = set(principal.shops)
    outside = sorted(set(parsed.shop_id) - allowed)
    if outside:
        raise ProblemException(403, f"no access to shop(s) {', '.join(outside)}")
    shop_ids = sorted(set(parsed.shop_id) if parsed.shop_id else allowed)
    return filters, shop_ids


async def _publish_request(runtime: Runtime, record: ExportRecord) -> None:
    """Wake the exporter up; if Kafka is unavailable it finds the queued record anyway."""
    event = make_event(
        requested_event_data(record),
        source=EVENT_SOURCE,
        subject=record.id,
        event_id=record.request_event_id,
    )
    try:
        await asyncio.wait_for(
            publish_event(runtime.broker, runtime.settings.topic_export_requested, event),
            PUBLISH_TIMEOUT_SECONDS,
        )
    except Exception as exc:
        log.warning(
            "export-requested not published (the exporter will poll for it): %s",
            exc,
            extra={"export_id": record.id},
        )


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A retried request with the same key answers the same export.",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
    ),
]


@router.post(
    "",
    status_code=202,
    response_model=ExportAccepted,
    summary="Request a CSV or XLSX export of the orders matching filters",
    description=(
        "The rows are exactly what GET /v1/orders returns for the same filters, limited to the "
        "token's shops, with PII masked for roles that see it masked. Follow the export at "
        "`Location`; download it from `/v1/exports/{id}/download` once `succeeded`."
    ),
    responses=problem_responses(400, 401, 403, 422, 429, 503),
    dependencies=[Depends(only_params())],
)
async def request_export(
    runtime: AppRuntime,
    principal: CanExport,
    records: Records,
    body: ExportRequestBody,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ExportAccepted:
    filters, shop_ids = _checked_request(body, principal)
    now = datetime.now(UTC)
    keys = IdempotencyStore(runtime.db, ttl=timedelta(hours=runtime.settings.idempotency_ttl_hours))
    key_id = IdempotencyStore.key_id(principal.sub, f"export:{idempotency_key}")
    print_ = fingerprint(body.model_dump(mode="json"), shop_ids)
    if idempotency_key is not None:
        earlier = await keys.find(key_id, now)
        if earlier is not None:
            return _replayed(earlier, print_, response)
    async with CallerLock(runtime.db).held(principal.sub):
        return await _accept(
            runtime,
            principal,
            records,
            body,
            response,
            idempotency_key,
            filters=filters,
            shop_ids=shop_ids,
            now=now,
            keys=keys,
            key_id=key_id,
            print_=print_,
        )


async def _accept(
    runtime: Runtime,
    principal: Principal,
    records: ExportRecords,
    body: ExportRequestBody,
    response: Response,
    idempotency_key: str | None,
    *,
    filters: dict[str, str | list[str]],
    shop_ids: list[str],
    now: datetime,
    keys: IdempotencyStore,
    key_id: str,
    print_: str,
) -> ExportAccepted:
    if await records.pending(principal.sub) >= MAX_PENDING_PER_CALLER:
        raise ProblemException(
            429,
            f"{MAX_PENDING_PER_CALLER} of your exports are still queued or running; "
            "wait for them to finish",
            headers={"Retry-After": "30"},
        )
    record = ExportRecord(
        id=new_export_id(),
        shop_ids=shop_ids,
        requested_by=principal.sub,
        role=principal.role.value,
        format=body.format,
        granularity=body.granularity,
        filters=filters,
        tz=body.tz,
        created_at=now,
        updated_at=now,
        request_event_id=new_event_id(),
    )
    accepted = ExportAccepted(export_id=record.id, status=ExportStatus.QUEUED)
    if idempotency_key is not None:
        winner = await keys.claim(key_id, print_, accepted.model_dump(mode="json"), now)
        if winner is not None:
            return _replayed(winner, print_, response)
    try:
        await records.insert(record)
    except DuplicateKeyError:  # pragma: no cover - a 128-bit random id collided
        raise ProblemException(503, "retry", headers={"Retry-After": "1"}) from None
    except Exception:
        if idempotency_key is not None:
            await keys.release(key_id)
        raise
    await _publish_request(runtime, record)
    response.headers["Location"] = f"/v1/exports/{record.id}"
    return accepted


def _replayed(stored: Stored, print_: str, response: Response) -> ExportAccepted:
    accepted = replay(ExportAccepted, stored, print_)
    response.headers["Location"] = f"/v1/exports/{accepted.export_id}"
    return accepted


# -- following ------------------------------------------------------------------------------


def _cursor_of(record: ExportRecord) -> str:
    raw = f"{record.created_at.astimezone(UTC).isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, export_id = raw.split("|", 1)
        return datetime.fromisoformat(at), export_id
    except ValueError:
        raise FilterError([ParamError("cursor", "not a cursor returned by this list")]) from None


@router.get(
    "",
    response_model=ExportPage,
    summary="Your exports, newest first",
    responses=problem_responses(400, 401, 403, 503),
    dependencies=[Depends(only_params("limit", "cursor"))],
)
async def list_exports(
    principal: CanExport,
    records: Records,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=300, description="`next_cursor` of the previous page.")
    ] = None,
) -> ExportPage:
    before = _position(cursor) if cursor else None
    found = await records.of_requester(principal.sub, before=before, limit=limit + 1)
    page = found[:limit]
    next_cursor = _cursor_of(page[-1]) if len(found) > limit and page else None
    now = datetime.now(UTC)
    # Exports of shops the caller has since lost access to are left out (not their own now).
    return ExportPage(
        items=[_view(r, now) for r in page if may_read(r, principal)], next_cursor=next_cursor
    )


@router.get(
    "/{export_id}",
    response_model=ExportView,
    summary="An export's status, progress and file",
    responses=problem_responses(400, 401, 403, 404, 503),
    dependencies=[Depends(only_params())],
)
async def get_export(principal: CanExport, records: Records, export_id: EXPORT_ID) -> ExportView:
    return _view(await _readable(records, export_id, principal), datetime.now(UTC))


# -- downloading ----------------------------------------------------------------------------


def _disposition(file_name: str) -> str:
    # Export file names are ASCII by construction (`orders-<id>.<ext>`).
    return f'attachment; filename="{file_name}"'


@router.get(
    "/{export_id}/download",
    summary="Download the export's file",
    description=(
        "Streams the file of a `succeeded` export, after checking it against the recorded size "
        "and SHA-256 (a partial or damaged file is never served). 409 while it is not ready, "
        "410 once expired."
    ),
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file.",
            "content": {content_type: {} for content_type in CONTENT_TYPES.values()},
        },
        **problem_responses(400, 401, 403, 404, 409, 410, 503),
    },
    dependencies=[Depends(only_params())],
)
async def download_export(
    runtime: AppRuntime, principal: CanExport, records: Records, export_id: EXPORT_ID
) -> StreamingResponse:
    record = await _readable(records, export_id, principal)
    now = datetime.now(UTC)
    refusal = download_refusal(record, now)
    if refusal is not None:
        status = 410 if "expired" in refusal else 409
        raise ProblemException(status, refusal)
    file_key, size, sha256 = record.file_key, record.bytes, record.sha256
    if file_key is None or size is None or sha256 is None:  # download_refusal checked it
        raise ProblemException(409, "export has no file")
    file_name = record.file_name or download_name(record.id, record.format)
    store = LocalFileStore(runtime.settings.export_dir)
    try:
        stored = await open_verified(store, file_key, size=size, sha256=sha256)
    except FileNotFoundError:
        raise ProblemException(410, "export file is no longer available") from None
    except CorruptFile as exc:
        log.error(
            "refusing to serve a damaged export file: %s", exc, extra={"export_id": export_id}
        )
        raise ProblemException(
            500, "the export file failed its integrity check; request the export again"
        ) from None

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stored.chunks():
                yield chunk
        finally:
            await stored.close()

    digest = base64.b64encode(bytes.fromhex(sha256)).decode()
    return StreamingResponse(
        body(),
        media_type=CONTENT_TYPES[record.format],
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": _disposition(file_name),
            "Repr-Digest": f"sha-256=:{digest}:",
            "ETag": f'"{sha256}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
