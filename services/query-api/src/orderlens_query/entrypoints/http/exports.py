"""Exports (docs/contract.md §5.5): each route turns a request into one call of
`orderlens_query.services.exports` and its answer into a response."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import StreamingResponse

from orderlens.domain.export import CONTENT_TYPES, EXPORT_ID_PATTERN
from orderlens.filestore import LocalFileStore
from orderlens_query.adapters import publishers
from orderlens_query.adapters.export_records import CallerLock, ExportRecords
from orderlens_query.adapters.idempotency import IdempotencyStore
from orderlens_query.auth import AppRuntime, CanExport
from orderlens_query.models.exports import (
    ExportAccepted,
    ExportPage,
    ExportRequestBody,
    ExportView,
)
from orderlens_query.problems import problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.services import exports

router = APIRouter(prefix="/v1/exports", tags=["exports"])

EXPORT_ID = Annotated[
    str, Path(description="The export id.", min_length=1, max_length=64, pattern=EXPORT_ID_PATTERN)
]

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


async def records(runtime: AppRuntime) -> ExportRecords:
    return ExportRecords(runtime.db)


Records = Annotated[ExportRecords, Depends(records)]


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
    ttl = timedelta(hours=runtime.settings.idempotency_ttl_hours)
    accepted = await exports.request_export(
        body,
        principal,
        records=records,
        lock=CallerLock(runtime.db),
        keys=IdempotencyStore(runtime.db, ttl=ttl),
        publish=publishers.export_requests(runtime),
        idempotency_key=idempotency_key,
        now=datetime.now(UTC),
    )
    response.headers["Location"] = f"/v1/exports/{accepted.export_id}"
    return accepted


@router.get(
    "",
    response_model=ExportPage,
    summary="Your exports, newest first",
    responses=problem_responses(400, 401, 403, 503),
    dependencies=[Depends(only_params("limit", "cursor"))],
)
async def list_exports(
    runtime: AppRuntime,
    principal: CanExport,
    records: Records,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=300, description="`next_cursor` of the previous page.")
    ] = None,
) -> ExportPage:
    return await exports.list_exports(
        principal,
        records,
        limit=limit,
        cursor=cursor,
        cursor_key=runtime.settings.cursor_key,
        now=datetime.now(UTC),
    )


@router.get(
    "/{export_id}",
    response_model=ExportView,
    summary="An export's status, progress and file",
    responses=problem_responses(400, 401, 403, 404, 503),
    dependencies=[Depends(only_params())],
)
async def get_export(principal: CanExport, records: Records, export_id: EXPORT_ID) -> ExportView:
    return await exports.get_export(principal, records, export_id, datetime.now(UTC))


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
    record, file_name, stored = await exports.open_download(
        principal,
        records,
        LocalFileStore(runtime.settings.export_dir),
        export_id,
        datetime.now(UTC),
    )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in stored.chunks():
                yield chunk
        finally:
            await stored.close()

    assert record.sha256 is not None  # open_download verified the file against it
    digest = base64.b64encode(bytes.fromhex(record.sha256)).decode()
    return StreamingResponse(
        body(),
        media_type=CONTENT_TYPES[record.format],
        headers={
            "Content-Length": str(stored.size),
            "Content-Disposition": _disposition(file_name),
            "Repr-Digest": f"sha-256=:{digest}:",
            "ETag": f'"{record.sha256}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
