"""POST /v1/orders/{order_id}/actions/{confirm,ship,cancel}."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header

from orderlens.events import PackageUpdate
from orderlens.roles import Action, Permission
from orderlens.tokens import Principal
from orderlens_query.adapters import publishers
from orderlens_query.adapters.accepted_actions import AcceptedActions
from orderlens_query.adapters.idempotency import IdempotencyStore
from orderlens_query.adapters.order_reader import OrderReader
from orderlens_query.auth import AppRuntime, require
from orderlens_query.entrypoints.http.orders import ORDER_ID
from orderlens_query.models.actions import ActionAccepted, CancelBody, ShipBody
from orderlens_query.problems import problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.runtime import Runtime
from orderlens_query.services.actions import ActionRequest, perform

router = APIRouter(
    prefix="/v1/orders/{order_id}/actions",
    tags=["actions"],
    dependencies=[Depends(only_params())],
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A retried request with the same key answers the first answer and "
        "publishes once (keys live 24 hours, per caller).",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
    ),
]
RESPONSES = problem_responses(400, 401, 403, 404, 409, 422, 503)


async def _run(
    runtime: Runtime, principal: Principal, request: ActionRequest, key: str | None
) -> ActionAccepted:
    settings = runtime.settings
    return await perform(
        request,
        principal,
        orders=OrderReader(runtime.db, max_time_ms=settings.query_max_time_ms),
        keys=IdempotencyStore(runtime.db, ttl=timedelta(hours=settings.idempotency_ttl_hours)),
        accepted=AcceptedActions(runtime.db),
        publish=publishers.status_changes(runtime),
        idempotency_key=key,
        now=datetime.now(UTC),
    )


@router.post(
    "/confirm",
    status_code=202,
    response_model=ActionAccepted,
    summary="Confirm an order (ON_HOLD -> AWAITING_SHIPMENT)",
    responses=RESPONSES,
)
async def confirm(
    runtime: AppRuntime,
    principal: Annotated[Principal, Depends(require(Permission.CONFIRM))],
    order_id: ORDER_ID,
    idempotency_key: IdempotencyKey = None,
) -> ActionAccepted:
    return await _run(runtime, principal, ActionRequest(Action.CONFIRM, order_id), idempotency_key)


@router.post(
    "/ship",
    status_code=202,
    response_model=ActionAccepted,
    summary="Ship an order with a carrier and tracking number (-> AWAITING_COLLECTION)",
    responses=RESPONSES,
)
async def ship(
    runtime: AppRuntime,
    principal: Annotated[Principal, Depends(require(Permission.SHIP))],
    order_id: ORDER_ID,
    body: ShipBody,
    idempotency_key: IdempotencyKey = None,
) -> ActionAccepted:
    package = PackageUpdate(
        package_id=body.package_id, carrier=body.carrier, tracking_number=body.tracking_number
    )
    request = ActionRequest(Action.SHIP, order_id, package=package)
    return await _run(runtime, principal, request, idempotency_key)


@router.post(
    "/cancel",
    status_code=202,
    response_model=ActionAccepted,
    summary="Cancel an order (up to AWAITING_COLLECTION)",
    responses=RESPONSES,
)
async def cancel(
    runtime: AppRuntime,
    principal: Annotated[Principal, Depends(require(Permission.CANCEL))],
    order_id: ORDER_ID,
    body: CancelBody,
    idempotency_key: IdempotencyKey = None,
) -> ActionAccepted:
    request = ActionRequest(Action.CANCEL, order_id, reason=body.reason)
    return await _run(runtime, principal, request, idempotency_key)
