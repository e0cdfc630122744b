"""GET/PUT /v1/me/notification-preferences: which events notify the caller (docs/contract.md
§5.7). Any role: a seller chooses inbox kinds, a buyer e-mail kinds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends

from orderlens.notifications import NotificationPreferences
from orderlens_query.auth import AppRuntime, CurrentPrincipal
from orderlens_query.problems import problem_responses
from orderlens_query.query_params import only_params
from orderlens_query.services.preferences import PreferencesStore, get_preferences, put_preferences

router = APIRouter(prefix="/v1/me/notification-preferences", tags=["notifications"])


async def store(runtime: AppRuntime) -> PreferencesStore:
    return PreferencesStore(runtime.db)


Store = Annotated[PreferencesStore, Depends(store)]


@router.get(
    "",
    response_model=NotificationPreferences,
    summary="Your notification preferences (every kind on until you switch it off)",
    responses=problem_responses(400, 401, 403, 503),
    dependencies=[Depends(only_params())],
)
async def get_mine(principal: CurrentPrincipal, prefs: Store) -> NotificationPreferences:
    return await get_preferences(principal, prefs)


@router.put(
    "",
    response_model=NotificationPreferences,
    summary="Replace your notification preferences",
    description="A kind left out is on. Applies to events from now on; earlier items stay.",
    responses=problem_responses(400, 401, 403, 503),
    dependencies=[Depends(only_params())],
)
async def put_mine(
    principal: CurrentPrincipal, prefs: Store, body: NotificationPreferences
) -> NotificationPreferences:
    return await put_preferences(principal, prefs, body, datetime.now(UTC))
