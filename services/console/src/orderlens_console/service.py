"""The console's use cases: who may sign in as whom, and the data each page shows.

Every read goes through query-api with the signed-in user's token, so scoping and masking are
query-api's (docs/contract.md §5.1); the console only hides what a role may not use and refuses
it again here before calling the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orderlens.domain.status import (
    SELLER_STATUS_LABELS,
    SELLER_VIEW_LABELS,
    OrderStatus,
    ReturnStatus,
    TrackingStatus,
    View,
    later_than_estimated,
    view_of,
)
from orderlens.filters import FILTER_PARAMS, PAGING_PARAMS, REPEATABLE, SortKey
from orderlens.roles import SELLER_ROLES, Action, Permission, Role, has_permission, may_act
from orderlens.seller_actions import action_error
from orderlens_console.adapters.query_api import ApiError, QueryApi
from orderlens_console.formatting import humanize
from orderlens_console.sessions import Session, new_session
from orderlens_console.settings import ConsoleSettings

DATE_PRESETS = {
    "today": "Today",
    "24h": "Last 24 h",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "custom": "Custom",
}
# The seller's tabs (docs/contract.md §4.2), in the order of the orders' life.
TABS: tuple[tuple[View, str], ...] = tuple(SELLER_VIEW_LABELS.items())
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
TRACKING_CHOICES = [(s.value, humanize(s.value)) for s in TrackingStatus]
STATUS_CHOICES = [(s.value, label) for s, label in SELLER_STATUS_LABELS.items()]
RETURN_CHOICES = [(s.value, humanize(s.value)) for s in ReturnStatus if s is not ReturnStatus.NONE]
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
    if role not in SELLER_ROLES:
        # Buyers sign in through their links (docs/decisions/0120), never as seller staff.
        raise SignInRefused(f"claim {settings.oidc_role_claim!r} names no seller role")
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


def _values(key: str, value: str) -> list[str]:
    """A field of a repeatable filter may hold several values, comma-separated ("US, CA")."""
    if key in REPEATABLE:
        return [part.strip() for part in value.split(",") if part.strip()]
    return [value.strip()] if value.strip() else []


def api_params(
    pairs: Iterable[tuple[str, str]], *, zone: str | None = None, now: datetime | None = None
) -> list[tuple[str, str]]:
    """The console's URL query → query-api's: empty fields dropped, repeatable fields split into
    repeated parameters ("any of", docs/contract.md §5.2), a date preset made concrete.

    Dates and presets are read in the view's zone (`tz`, else `zone`: the user's or the shop's),
    so "today" starts at its midnight.
    """
    kept = [
        (k, part)
        for k, v in pairs
        if k in FORWARDED or k in CONSOLE_PARAMS
        for part in _values(k, v)
    ]
    if zone and zone != "UTC" and not any(k == "tz" for k, _ in kept):
        kept.append(("tz", zone))
    preset = next((v for k, v in kept if k == "preset"), None)
    out = [(k, v) for k, v in kept if k not in CONSOLE_PARAMS]
    if preset and preset != "custom":
        out = [(k, v) for k, v in out if k not in {"created_from", "created_to"}]
        local_zone = _zone(next((v for k, v in out if k == "tz"), "UTC"))
        local_now = (now or datetime.now(UTC)).astimezone(local_zone)
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
STATUS_LABELS = {status.value: label for status, label in SELLER_STATUS_LABELS.items()}


def _view_of(status: Any) -> str:
    try:
        return str(view_of(OrderStatus(status)).value)
    except ValueError:
        return ""


async def orders_page(
    api: QueryApi, token: str, pairs: list[tuple[str, str]], zone: str
) -> OrdersPage:
    params = api_params(pairs, zone=zone)
    count_params = [
        (k, v) for k, v in params if k not in PAGING_PARAMS and k not in {"view", "status"}
    ]
    # The tab counts and the list are independent reads: asked at once, the page waits for the
    # slower of the two, not for their sum.
    listing = asyncio.ensure_future(api.list_orders(token, params))
    tabs: list[dict[str, Any]] = []
    page = OrdersPage(tabs=tabs)
    try:
        counts = await api.counts(token, count_params)
        by_view = counts.get("by_view", {})
        tabs.extend(
            {"view": v.value, "label": label, "count": by_view.get(v.value, 0)} for v, label in TABS
        )
        result = await listing
    except ApiError as exc:
        page.error = f"{exc.detail} ({exc.status})"
        if not tabs:
            tabs.extend({"view": v.value, "label": label, "count": None} for v, label in TABS)
        return page
    finally:
        # The list is not needed when the counts failed (the page shows their error), and its
        # own failure must not go unread.
        listing.cancel()
        with contextlib.suppress(asyncio.CancelledError, ApiError):
            await listing
    # Each row knows its tab, so a live status change can move it out of the tab shown.
    page.items = [{**o, "view": _view_of(o.get("status"))} for o in result.get("items", [])]
    page.next_cursor = result.get("next_cursor")
    return page


async def order_detail(api: QueryApi, token: str, order_id: str) -> dict[str, Any]:
    return order_view(await api.order(token, order_id), now=datetime.now(UTC))


def _late(value: str | None, now: datetime, status: OrderStatus, tracking: str | None) -> bool:
    estimated = datetime.fromisoformat(value) if value else None
    parcel = TrackingStatus(tracking) if tracking else None
    return later_than_estimated(estimated, now, status=status, tracking=parcel)


def order_view(order: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The API's order detail with `estimate_late` on the order and each package: an estimated
    delivery that passed while the order is on its way reads "Later than estimated" (0207)."""
    status = OrderStatus(order["status"])
    return {
        **order,
        "estimate_late": _late(order.get("estimated_delivery_at"), now, status, None),
        "packages": [
            {
                **p,
                "estimate_late": _late(
                    p.get("estimated_delivery_at"), now, status, p.get("tracking_status")
                ),
            }
            for p in order.get("packages") or []
        ],
    }


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


def export_filters(
    pairs: Iterable[tuple[str, str]], zone: str | None = None
) -> dict[str, str | list[str]]:
    """The orders view's filters (without paging) in the form POST /v1/exports takes."""
    filters: dict[str, list[str]] = {}
    for key, value in api_params(pairs, zone=zone):
        if key in FILTER_PARAMS:
            filters.setdefault(key, []).append(value)
    return {k: v if k in REPEATABLE else v[0] for k, v in filters.items()}


async def request_export(
    api: QueryApi,
    token: str,
    session: Session,
    form: Mapping[str, str],
    pairs: list[tuple[str, str]],
    zone: str,
) -> str:
    _export_allowed(session)
    tz = form.get("tz") or zone
    body = {
        "format": form.get("format", "csv"),
        "granularity": form.get("granularity", "line"),
        "tz": tz,
        "filters": export_filters(pairs, tz),
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
    api: QueryApi, token: str, session: Session, pairs: list[tuple[str, str]], zone: str
) -> dict[str, Any]:
    """The four analyses of one window (docs/contract.md §5.5), fetched together, with the
    window's days and buckets in the view's zone."""
    if not has_permission(session.role, Permission.READ_STATS):
        raise Forbidden(f"role {session.role.value} may not read stats")
    given = {"tz": zone, **{k: v.strip() for k, v in pairs if v.strip()}}
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
    # The comparison window's own periods, so the chart draws it beside this one, period by
    # period (the sales answer carries only its totals).
    if sales.get("comparison_from") and sales.get("comparison_to"):
        previous = await api.stats(
            token,
            "sales",
            [
                ("from", sales["comparison_from"]),
                ("to", sales["comparison_to"]),
                ("tz", sales.get("tz") or given["tz"]),
                ("interval", sales.get("interval") or "day"),
            ],
        )
        by_currency = {c["currency"]: c["periods"] for c in previous.get("currencies", [])}
        for currency in sales.get("currencies", []):
            currency["comparison_periods"] = by_currency.get(currency["currency"], [])
    return {"sales": sales, "products": products, "regions": regions, "delivery": delivery}
