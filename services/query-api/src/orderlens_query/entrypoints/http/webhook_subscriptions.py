"""Outgoing webhook subscriptions (docs/contract.md §3.7), admin only: each route turns a
request into one call of `orderlens_query.services.webhook_subscriptions`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from orderlens.webhooks import DeliveryState
from orderlens_query.adapters.webhook_store import WebhookStore
from orderlens_query.auth import AppRuntime, ManageWebhooks
from orderlens_query.models.webhooks import (
    DeliveryPage,
    ReplayBody,
    ReplayOut,
    SubscriptionBody,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
    SubscriptionWithSecret,
)
from orderlens_query.problems import problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.services import webhook_subscriptions as use

router = APIRouter(prefix="/v1/webhook-subscriptions", tags=["webhooks"])

SUBSCRIPTION_ID = Annotated[
    str,
    Path(description="The subscription id.", min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$"),
]


async def store(runtime: AppRuntime) -> WebhookStore:
    return WebhookStore(runtime.db)


Store = Annotated[WebhookStore, Depends(store)]
NoParams = [Depends(only_params())]
# What a route on one subscription may answer besides its success (404: not one of the token's).
ONE_RESPONSES = problem_responses(400, 401, 403, 404, 503)


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionWithSecret,
    summary="Subscribe a URL to a shop's order events (admin)",
    description="The answer carries the signing secret; no later answer shows it again.",
    responses=problem_responses(400, 401, 403, 404, 409, 503),
    dependencies=NoParams,
)
async def create(
    principal: ManageWebhooks, runtime: AppRuntime, webhooks: Store, body: SubscriptionBody
) -> SubscriptionWithSecret:
    created, secret = await use.create_subscription(
        webhooks, principal, body, runtime.settings, datetime.now(UTC)
    )
    return SubscriptionWithSecret.created(created, secret)


@router.get(
    "",
    response_model=SubscriptionPage,
    summary="The webhook subscriptions of the token's shops (admin)",
    responses=problem_responses(400, 401, 403, 503),
    dependencies=NoParams,
)
async def list_all(principal: ManageWebhooks, webhooks: Store) -> SubscriptionPage:
    found = await use.list_subscriptions(webhooks, principal)
    return SubscriptionPage(items=[SubscriptionOut.of(s) for s in found])


@router.get(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    summary="One webhook subscription (admin)",
    responses=ONE_RESPONSES,
    dependencies=NoParams,
)
async def get_one(
    principal: ManageWebhooks, webhooks: Store, subscription_id: SUBSCRIPTION_ID
) -> SubscriptionOut:
    return SubscriptionOut.of(await use.get_subscription(webhooks, principal, subscription_id))


@router.patch(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    summary="Change a subscription's URL, event types, description, or pause it (admin)",
    responses=ONE_RESPONSES,
    dependencies=NoParams,
)
async def patch(
    principal: ManageWebhooks,
    runtime: AppRuntime,
    webhooks: Store,
    subscription_id: SUBSCRIPTION_ID,
    body: SubscriptionPatch,
) -> SubscriptionOut:
    updated = await use.update_subscription(
        webhooks, principal, subscription_id, body, runtime.settings, datetime.now(UTC)
    )
    return SubscriptionOut.of(updated)


@router.post(
    "/{subscription_id}/secret",
    response_model=SubscriptionWithSecret,
    summary="Replace the signing secret (admin); the answer shows the new one, once",
    responses=ONE_RESPONSES,
    dependencies=NoParams,
)
async def rotate(
    principal: ManageWebhooks,
    runtime: AppRuntime,
    webhooks: Store,
    subscription_id: SUBSCRIPTION_ID,
) -> SubscriptionWithSecret:
    rotated, secret = await use.rotate_secret(
        webhooks, principal, subscription_id, runtime.settings, datetime.now(UTC)
    )
    return SubscriptionWithSecret.created(rotated, secret)


@router.delete(
    "/{subscription_id}",
    status_code=204,
    summary="Delete a subscription (admin); nothing more is delivered to it",
    responses=ONE_RESPONSES,
    dependencies=NoParams,
)
async def delete(
    principal: ManageWebhooks, webhooks: Store, subscription_id: SUBSCRIPTION_ID
) -> Response:
    await use.delete_subscription(webhooks, principal, subscription_id)
    return Response(status_code=204)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=DeliveryPage,
    summary="A subscription's deliveries, oldest first; `state=parked` for the failed ones",
    responses=ONE_RESPONSES,
    dependencies=[Depends(only_params("state", "limit"))],
)
async def deliveries(
    principal: ManageWebhooks,
    webhooks: Store,
    subscription_id: SUBSCRIPTION_ID,
    state: Annotated[DeliveryState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    items = await use.list_deliveries(
        webhooks, principal, subscription_id, state.value if state else None, limit
    )
    return DeliveryPage(items=items)


@router.post(
    "/{subscription_id}/replay",
    status_code=202,
    response_model=ReplayOut,
    summary="Queue parked deliveries again, in their original order (admin)",
    responses=ONE_RESPONSES,
    dependencies=NoParams,
)
async def replay(
    principal: ManageWebhooks,
    webhooks: Store,
    subscription_id: SUBSCRIPTION_ID,
    body: ReplayBody,
) -> ReplayOut:
    count = await use.replay(
        webhooks, principal, subscription_id, body.delivery_ids, datetime.now(UTC)
    )
    return ReplayOut(replayed=count)
