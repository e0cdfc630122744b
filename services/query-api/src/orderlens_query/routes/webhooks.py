"""/v1/webhooks: outgoing webhook subscriptions (admin only; decision 0121)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from orderlens_query import webhook_subscriptions as subscriptions
from orderlens_query.auth import AppRuntime, ManageWebhooks
from orderlens_query.models.webhooks import (
    DeliveryList,
    ReplayAccepted,
    WebhookBody,
    WebhookCreated,
    WebhookList,
)
from orderlens_query.problems import ProblemException, problem_responses

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
SUBSCRIPTION_ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


def _missing(sub_id: str) -> ProblemException:
    return ProblemException(404, f"no webhook subscription {sub_id} in your shops")


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Subscribe a URL to a shop's order events",
    responses=problem_responses(400, 401, 403, 404, 503),
)
async def post_webhook(
    principal: ManageWebhooks, runtime: AppRuntime, body: WebhookBody
) -> WebhookCreated:
    created = await subscriptions.create(runtime.db, principal, body, datetime.now(UTC))
    if created is None:
        raise ProblemException(404, f"no shop {body.shop_id} in your shops")
    return created


@router.get(
    "",
    response_model=WebhookList,
    summary="The webhook subscriptions of your shops (secrets are never shown again)",
    responses=problem_responses(400, 401, 403, 503),
)
async def get_webhooks(principal: ManageWebhooks, runtime: AppRuntime) -> WebhookList:
    return WebhookList(items=await subscriptions.list_subscriptions(runtime.db, principal))


@router.delete(
    "/{subscription_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a webhook subscription",
    responses=problem_responses(400, 401, 403, 404, 503),
)
async def delete_webhook(
    principal: ManageWebhooks, runtime: AppRuntime, subscription_id: SUBSCRIPTION_ID
) -> Response:
    if not await subscriptions.delete(runtime.db, principal, subscription_id):
        raise _missing(subscription_id)
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=DeliveryList,
    summary="A subscription's deliveries in one state (parked: failed for 24 hours)",
    responses=problem_responses(400, 401, 403, 404, 503),
)
async def get_deliveries(
    principal: ManageWebhooks,
    runtime: AppRuntime,
    subscription_id: SUBSCRIPTION_ID,
    state: Annotated[Literal["pending", "delivered", "parked"], Query()] = "parked",
) -> DeliveryList:
    found = await subscriptions.deliveries(runtime.db, principal, subscription_id, state)
    if found is None:
        raise _missing(subscription_id)
    return DeliveryList(items=found)


@router.post(
    "/{subscription_id}/replay",
    status_code=202,
    response_model=ReplayAccepted,
    summary="Deliver the parked events again (the notifier picks the request up)",
    responses=problem_responses(400, 401, 403, 404, 503),
)
async def post_replay(
    principal: ManageWebhooks, runtime: AppRuntime, subscription_id: SUBSCRIPTION_ID
) -> ReplayAccepted:
    now = datetime.now(UTC)
    if not await subscriptions.request_replay(runtime.db, principal, subscription_id, now):
        raise _missing(subscription_id)
    return ReplayAccepted(id=subscription_id, replay_requested_at=now)
