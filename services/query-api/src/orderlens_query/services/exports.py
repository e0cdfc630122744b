"""Export use cases (docs/contract.md §5.5): request one, follow it, list yours, open its file.

query-api stores the export record (`queued`) before it publishes `orders.export-requested`:
the record is the job, the event only wakes the exporter up, so a request accepted here is never
lost even when Kafka is briefly unavailable (the exporter also polls for queued records).

Access: roles with the export permission (admin, operations, analyst); a record is visible and
downloadable only to a caller with access to every shop in it, and a file written with full PII
only to a role that sees full PII (an analyst never downloads an admin's unmasked file).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from orderlens.domain.export import (
    ExportRecord,
    ExportStatus,
    covers_shops,
    download_name,
    download_refusal,
    new_export_id,
)
from orderlens.events import new_event_id
from orderlens.filestore import CorruptFile, FileStore, StoredObject, open_verified
from orderlens.filters import (
    FilterError,
    ParamError,
    decode_cursor,
    encode_cursor,
    parse_filters,
    parse_tz,
)
from orderlens.roles import Role, sees_full_pii
from orderlens.tokens import Principal
from orderlens_query.adapters.export_records import NEWEST_FIRST, CallerLock, ExportRecords
from orderlens_query.adapters.idempotency import IdempotencyStore, fingerprint, idempotent
from orderlens_query.models.exports import (
    ExportAccepted,
    ExportPage,
    ExportRequestBody,
    ExportView,
    export_view,
    query_value,
)
from orderlens_query.problems import ProblemException

log = logging.getLogger(__name__)

# Queued or running exports one caller may have at once (more answer 429): each export scans
# orders, and the per-shop cap only bounds how many run, not how many wait.
MAX_PENDING_PER_CALLER = 20

PublishRequest = Callable[[ExportRecord], Awaitable[None]]


def may_read(record: ExportRecord, principal: Principal) -> bool:
    """Every shop of the export, and no more PII in the file than the caller may see."""
    if not covers_shops(record, set(principal.shops)):
        return False
    try:
        full_pii_file = sees_full_pii(Role(record.role))
    except ValueError:
        return False
    return sees_full_pii(principal.role) or not full_pii_file


async def readable(records: ExportRecords, export_id: str, principal: Principal) -> ExportRecord:
    record = await records.get(export_id)
    if record is None or not may_read(record, principal):
        raise ProblemException(404, f"no export {export_id} among your shops")
    return record


def checked_request(
    body: ExportRequestBody, principal: Principal
) -> tuple[dict[str, str | list[str]], list[str]]:
    """The filters as stored (with the effective `tz`) and the export's shops; 400/403."""
    try:
        parse_tz(body.tz)
    except ValueError as exc:
        raise FilterError([ParamError("tz", str(exc))]) from None
    filters: dict[str, str | list[str]] = {
        name: [query_value(v) for v in value] if isinstance(value, list) else query_value(value)
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


async def request_export(
    body: ExportRequestBody,
    principal: Principal,
    *,
    records: ExportRecords,
    lock: CallerLock,
    keys: IdempotencyStore,
    publish: PublishRequest,
    idempotency_key: str | None,
    now: datetime,
) -> ExportAccepted:
    """Accept an export: checked, capped per caller (under the caller's lease, decision 0073),
    recorded, then announced."""
    filters, shop_ids = checked_request(body, principal)
    flow = idempotent(
        keys,
        principal.sub,
        None if idempotency_key is None else f"export:{idempotency_key}",
        fingerprint(body.model_dump(mode="json"), shop_ids),
        ExportAccepted,
        now,
    )
    earlier = await flow.earlier()
    if earlier is not None:
        return earlier
    async with lock.held(principal.sub):
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
        winner = await flow.claim(accepted)
        if winner is not None:
            return winner
        try:
            await records.insert(record)
        except DuplicateKeyError:  # pragma: no cover - a 128-bit random id collided
            raise ProblemException(503, "retry", headers={"Retry-After": "1"}) from None
        except Exception:
            await flow.release()
            raise
    await publish(record)
    return accepted


async def list_exports(
    principal: Principal,
    records: ExportRecords,
    *,
    limit: int,
    cursor: str | None,
    cursor_key: bytes,
    now: datetime,
) -> ExportPage:
    """The caller's exports, newest first, paged by the orders list's signed cursor."""
    after = decode_cursor(NEWEST_FIRST, cursor, cursor_key) if cursor else None
    found = await records.of_requester(principal.sub, after=after, limit=limit + 1)
    page = found[:limit]
    next_cursor = (
        encode_cursor(NEWEST_FIRST, page[-1].to_document(), cursor_key)
        if len(found) > limit and page
        else None
    )
    # Exports of shops the caller has since lost access to are left out (not their own now).
    return ExportPage(
        items=[export_view(r, now) for r in page if may_read(r, principal)],
        next_cursor=next_cursor,
    )


async def get_export(
    principal: Principal, records: ExportRecords, export_id: str, now: datetime
) -> ExportView:
    return export_view(await readable(records, export_id, principal), now)


async def open_download(
    principal: Principal,
    records: ExportRecords,
    store: FileStore,
    export_id: str,
    now: datetime,
) -> tuple[ExportRecord, str, StoredObject]:
    """The record, its download name and its verified open file; 404/409/410, or 500 for a
    damaged file (never served)."""
    record = await readable(records, export_id, principal)
    refusal = download_refusal(record, now)
    if refusal is not None:
        raise ProblemException(410 if "expired" in refusal else 409, refusal)
    file_key, size, sha256 = record.file_key, record.bytes, record.sha256
    if file_key is None or size is None or sha256 is None:  # download_refusal checked it
        raise ProblemException(409, "export has no file")
    file_name = record.file_name or download_name(record.id, record.format)
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
    return record, file_name, stored
