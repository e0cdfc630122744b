"""The console's use cases: who may sign in as whom, and the data each page shows.

Every read goes through query-api with the signed-in user's token, so scoping and masking are
query-api's (docs/contract.md §5.1); the console only hides what a role may not use and refuses
it again here before calling the API.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orderlens.domain.status import BUYER_LABELS, OrderStatus, TrackingStatus, View, view_of
from orderlens.filters import FILTER_PARAMS, PAGING_PARAMS, SortKey
from orderlens.roles import Action, Permission, Role, has_permission, may_act
from orderlens.seller_actions import action_error
from orderlens.tokens import mint_token
from orderlens_console.adapters.query_api import ApiError, QueryApi
from orderlens_console.sessions import Session, new_session
from orderlens_console.settings import ConsoleSettings

API_TOKEN_TTL = timedelta(minutes=10)
DATE_PRESETS = {
    "today": "Today",
    "24h": "Last 24 h",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "custom": "Custom",
}
TABS: tuple[tuple[View, str], ...] = (
    (View.UNPAID, "Unpaid"),
    (View.TO_SHIP, "To ship"),
    (View.SHIPPED, "Shipped"),
    (View.DELIVERED, "Delivered"),
    (View.COMPLETED, "Completed"),
    (View.CANCELLED, "Cancelled"),
    (View.RETURNS, "Returns"),
)
# Every sort query-api offers (orderlens.filters.SortKey), each way; "Any" is its default,
# newest created first.
SORT_CHOICES = [
    (f"{sign}{key.value}", f"{key.value.replace('_at', '').replace('_', ' ').capitalize()}, {way}")
    for key in SortKey
    for sign, way in (
        ("-", "highest first" if key is SortKey.TOTAL else "newest first"),
        ("", "lowest first" if key is SortKey.TOTAL else "oldest first"),
    )
]
TRACKING_CHOICES = [(s.value, s.value.replace("_", " ").capitalize()) for s in TrackingStatus]
# Console-only parameters: never sent to query-api as they are.
CONSOLE_PARAMS = frozenset({"preset"})
FORWARDED = FILTER_PARAMS | PAGING_PARAMS


class SignInRefused(Exception):
    pass


class Forbidden(Exception):
    pass


@dataclass(frozen=True)
class DemoUser:
    sub: str
    name: str
    role: Role


DEMO_USERS = (
    DemoUser("demo-admin", "Ada Admin", Role.ADMIN),
    DemoUser("demo-operations", "Otto Operations", Role.OPERATIONS),
    DemoUser("demo-customer-service", "Cass Customer Service", Role.CUSTOMER_SERVICE),
    DemoUser("demo-analyst", "Ana Analyst", Role.ANALYST),
)


def dev_sign_in(settings: ConsoleSettings, sub: str) -> Session:
    if not settings.dev_sign_in:
        raise SignInRefused("the development sign-in is disabled")
    if not settings.shops:
        raise SignInRefused("CONSOLE_DEV_SHOPS names no shop")
    user = next((u for u in DEMO_USERS if u.sub == sub), None)
    if user is None:
        raise SignInRefused("no such demo user")
    return new_session(sub=user.sub, name=user.name, role=user.role, shops=settings.shops)


def session_from_claims(settings: ConsoleSettings, claims: Mapping[str, Any]) -> Session:
    """Map an ID token's claims (names configurable) to an orderlens role and shops."""
    sub = claims.get(settings.oidc_subject_claim)
    raw_role = claims.get(settings.oidc_role_claim)
    raw_shops = claims.get(settings.oidc_shops_claim)
    if not isinstance(sub, str) or not sub:
        raise SignInRefused(f"the ID token has no {settings.oidc_subject_claim!r} claim")
    try:
        role = Role(str(raw_role))
    except ValueError:
        raise SignInRefused(f"claim {settings.oidc_role_claim!r} names no orderlens role") from None
    if isinstance(raw_shops, str):
        shops = tuple(s.strip() for s in raw_shops.split(",") if s.strip())
    elif isinstance(raw_shops, list):
        shops = tuple(str(s) for s in raw_shops if s)
    else:
        shops = ()
    if not shops:
        raise SignInRefused(f"claim {settings.oidc_shops_claim!r} names no shop")
    name = claims.get("name") or claims.get("email") or sub
    return new_session(sub=sub, name=str(name), role=role, shops=shops)


def api_token(settings: ConsoleSettings, session: Session) -> str:
    """A short-lived query-api token for the session's user (docs/decisions/0101)."""
    token: str = mint_token(
        sub=session.sub,
        role=session.role,
        shops=session.shops,
        secret=settings.api_token_secret,
        ttl=API_TOKEN_TTL,
    )
    return token


@dataclass(frozen=True)
class Capabilities:
    stats: bool
    export: bool
    confirm: bool
    ship: bool
    cancel: bool
    webhooks: bool = False

    @classmethod
    def of(cls, role: Role) -> Capabilities:
        return cls(
            stats=has_permission(role, Permission.READ_STATS),
            export=has_permission(role, Permission.EXPORT),
            confirm=may_act(role, Action.CONFIRM),
            ship=may_act(role, Action.SHIP),
            cancel=may_act(role, Action.CANCEL),
            webhooks=has_permission(role, Permission.MANAGE_WEBHOOKS),
        )

    def for_order(self, order: Mapping[str, Any]) -> Capabilities:
        """Only the actions the order's status allows too: a delivered order offers none
        (the same rule that makes query-api answer 409, orderlens.seller_actions)."""
        status = OrderStatus(order["status"])
        paid = order.get("paid_at") is not None

        def allowed(action: Action) -> bool:
            return action_error(action, status, paid) is None

        return replace(
            self,
            confirm=self.confirm and allowed(Action.CONFIRM),
            ship=self.ship and allowed(Action.SHIP),
            cancel=self.cancel and allowed(Action.CANCEL),
        )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def api_params(
    pairs: Iterable[tuple[str, str]], *, now: datetime | None = None
) -> list[tuple[str, str]]:
    """The console's URL query → query-api's: empty fields dropped, a date preset made concrete.

    A preset is read in the `tz` of the view (the shop's), so "today" starts at its midnight.
    """
    kept = [
        (k, v.strip()) for k, v in pairs if v.strip() and (k in FORWARDED or k in CONSOLE_PARAMS)
    ]
    preset = next((v for k, v in kept if k == "preset"), None)
    out = [(k, v) for k, v in kept if k not in CONSOLE_PARAMS]
    if preset and preset != "custom":
        out = [(k, v) for k, v in out if k not in {"created_from", "created_to"}]
        zone = _zone(next((v for k, v in out if k == "tz"), "UTC"))
        local_now = (now or datetime.now(UTC)).astimezone(zone)
        if preset == "today":
            out.append(("created_from", local_now.date().isoformat()))
        elif preset == "24h":
            out.append(("created_from", (local_now - timedelta(hours=24)).isoformat()))
        elif preset in {"7d", "30d", "90d"}:
            days = int(preset[:-1])
            out.append(("created_from", (local_now.date() - timedelta(days=days - 1)).isoformat()))
    return out


@dataclass
class OrdersPage:
    tabs: list[dict[str, Any]]
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    error: str | None = None


# What the live script shows for a status the stream announces (the table's own labels).
STATUS_LABELS = {status.value: label for status, label in BUYER_LABELS.items()}


def _view_of(status: Any) -> str:
    try:
        return str(view_of(OrderStatus(status)).value)
    except ValueError:
        return ""


async def orders_page(api: QueryApi, token: str, pairs: list[tuple[str, str]]) -> OrdersPage:
    params = api_params(pairs)
    count_params = [
        (k, v) for k, v in params if k not in PAGING_PARAMS and k not in {"view", "status"}
    ]
    tabs: list[dict[str, Any]] = []
    page = OrdersPage(tabs=tabs)
    try:
        counts = await api.counts(token, count_params)
        by_view = counts.get("by_view", {})
        tabs.extend(
            {"view": v.value, "label": label, "count": by_view.get(v.value, 0)} for v, label in TABS
        )
        result = await api.list_orders(token, params)
    except ApiError as exc:
        page.error = f"{exc.detail} ({exc.status})"
        if not tabs:
            tabs.extend({"view": v.value, "label": label, "count": None} for v, label in TABS)
        return page
    # Each row knows its tab, so a live status change can move it out of the tab shown.
    page.items = [{**o, "view": _view_of(o.get("status"))} for o in result.get("items", [])]
    page.next_cursor = result.get("next_cursor")
    return page


async def order_detail(api: QueryApi, token: str, order_id: str) -> dict[str, Any]:
    return await api.order(token, order_id)


async def act(
    api: QueryApi,
    token: str,
    session: Session,
    order_id: str,
    action: Action,
    form: Mapping[str, str],
) -> dict[str, Any]:
    if not may_act(session.role, action):
        raise Forbidden(f"role {session.role.value} may not {action.value} orders")
    body: dict[str, Any] = {}
    if action is Action.SHIP:
        body = {
            "carrier": form.get("carrier", ""),
            "tracking_number": form.get("tracking_number", ""),
        }
    elif action is Action.CANCEL:
        body = {"reason": form.get("reason", "")}
    key = form.get("idempotency_key") or str(uuid.uuid4())
    return await api.act(token, order_id, action.value, body, key)


def _export_allowed(session: Session) -> None:
    if not has_permission(session.role, Permission.EXPORT):
        raise Forbidden(f"role {session.role.value} may not export orders")


def export_filters(pairs: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """The orders view's filters (without paging) in the form POST /v1/exports takes."""
    filters: dict[str, list[str]] = {}
    for key, value in api_params(pairs):
        if key in FILTER_PARAMS:
            filters.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in filters.items()}


async def request_export(
    api: QueryApi,
    token: str,
    session: Session,
    form: Mapping[str, str],
    pairs: list[tuple[str, str]],
) -> str:
    _export_allowed(session)
    body = {
        "format": form.get("format", "csv"),
        "granularity": form.get("granularity", "line"),
        "tz": form.get("tz") or "UTC",
        "filters": export_filters(pairs),
    }
    accepted = await api.create_export(token, body)
    return str(accepted["export_id"])


async def exports(api: QueryApi, token: str, session: Session) -> list[dict[str, Any]]:
    _export_allowed(session)
    items: list[dict[str, Any]] = (await api.exports(token)).get("items", [])
    return items


async def export(api: QueryApi, token: str, session: Session, export_id: str) -> dict[str, Any]:
    _export_allowed(session)
    return await api.export(token, export_id)


async def download(
    api: QueryApi, token: str, session: Session, export_id: str
) -> tuple[dict[str, str], AsyncIterator[bytes]]:
    _export_allowed(session)
    return await api.download(token, export_id)


def order_stream(api: QueryApi, token: str, last_event_id: str | None) -> AsyncIterator[bytes]:
    # The token lives 10 minutes; EventSource reconnects with Last-Event-ID and a new one.
    return api.stream(token, last_event_id)


STATS_WINDOW = ("from", "to", "tz")


async def analysis(
    api: QueryApi, token: str, session: Session, pairs: list[tuple[str, str]]
) -> dict[str, Any]:
    """The four analyses of one window (docs/contract.md §5.5), fetched together."""
    if not has_permission(session.role, Permission.READ_STATS):
        raise Forbidden(f"role {session.role.value} may not read stats")
    given = {k: v.strip() for k, v in pairs if v.strip()}
    window = [(k, given[k]) for k in STATS_WINDOW if k in given]
    sales_params = [
        *window,
        ("interval", given.get("interval", "day")),
        ("compare", given.get("compare", "previous_period")),
    ]
    sales, products, regions, delivery = await asyncio.gather(
        api.stats(token, "sales", sales_params),
        api.stats(token, "top-products", [*window, ("limit", "10")]),
        api.stats(token, "regions", window),
        api.stats(token, "delivery", window),
    )
    return {"sales": sales, "products": products, "regions": regions, "delivery": delivery}
