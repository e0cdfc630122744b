"""The buyer pages' use cases: open a link, ask for a sign-in mail, the order center and one order.

Every read goes through query-api with the buyer token of the buyer's link (docs/contract.md
§5.1 buyer row): scoping to the buyer's own orders and leaving out seller-only fields are
query-api's. Here the answers become what a buyer reads: the Order Center wording (§4.2),
checkpoint times in the buyer's time zone, and plain sentences for a delivery issue or a parcel
that has not moved (§4.4) (decision 0180).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from orderlens.domain.buyer import BuyerTab
from orderlens.domain.status import (
    OrderStatus,
    ReturnStatus,
    TrackingStatus,
    later_than_estimated,
)
from orderlens.filters import is_stalled
from orderlens.notifications import EmailPreferences, MailKind
from orderlens_console.adapters.query_api import ApiError, QueryApi
from orderlens_console.sessions import BuyerSession, new_buyer_session

TIME_FORMAT = "%d %b %Y, %H:%M"
MAX_EMAIL_LENGTH = 254
# The tracking states in the words a buyer reads (docs/contract.md §4.4).
TRACKING_WORDS: dict[TrackingStatus, str] = {
    TrackingStatus.PENDING: "Waiting for the carrier",
    TrackingStatus.INFO_RECEIVED: "Carrier has the parcel's details",
    TrackingStatus.IN_TRANSIT: "On its way",
    TrackingStatus.OUT_FOR_DELIVERY: "Out for delivery",
    TrackingStatus.AVAILABLE_FOR_PICKUP: "Ready for pickup",
    TrackingStatus.FAILED_ATTEMPT: "Delivery attempt failed",
    TrackingStatus.DELIVERED: "Delivered",
    TrackingStatus.EXCEPTION: "Delivery problem",
    TrackingStatus.RETURNED_TO_SENDER: "Returned to the shop",
    TrackingStatus.EXPIRED: "Tracking ended",
}
# What the buyer is told about a parcel in one of the states that raise `delivery_issue`.
ISSUE_MESSAGES: dict[TrackingStatus, str] = {
    TrackingStatus.FAILED_ATTEMPT: "The carrier tried to deliver this parcel but could not. "
    "They usually try again; check the latest update below.",
    TrackingStatus.EXCEPTION: "The carrier reported a problem with this parcel. "
    "Contact the shop if the next update does not show it moving again.",
    TrackingStatus.RETURNED_TO_SENDER: "This parcel is going back to the shop. "
    "Contact the shop about a new delivery or a refund.",
}
RETURN_WORDS: dict[ReturnStatus, str] = {
    ReturnStatus.NONE: "No return",
    ReturnStatus.REQUESTED: "Return requested",
    ReturnStatus.APPROVED: "Return approved",
    ReturnStatus.REJECTED: "Return declined",
    ReturnStatus.BUYER_SHIPPED: "Return on its way to the shop",
    ReturnStatus.RECEIVED: "Return received by the shop",
    ReturnStatus.REFUNDED: "Refunded",
    ReturnStatus.CANCELLED: "Return cancelled",
}
# The buyer's e-mails in their words (docs/contract.md §5.7), in the order of a delivery.
MAIL_WORDS: dict[MailKind, tuple[str, str]] = {
    MailKind.SHIPPED: ("My order has shipped", "Once, when the shop hands it to the carrier."),
    MailKind.OUT_FOR_DELIVERY: (
        "A parcel is out for delivery",
        "On the day the carrier brings it.",
    ),
    MailKind.DELIVERED: ("My order has been delivered", "Once, when the carrier delivers it."),
    MailKind.DELIVERY_ISSUE: (
        "There is a problem with a delivery",
        "A failed attempt, a carrier problem or a parcel going back to the shop.",
    ),
}
# The form's one other field (decision 0215): anything else is a field we never offered.
PREFERENCE_FORM_FIELDS = frozenset({"csrf_token"})
MAIL_FIELDS = frozenset(EmailPreferences.model_fields)
_ZONES = frozenset(available_timezones())


class LinkNotAccepted(Exception):
    """A link query-api refused (tampered, expired, already used): the reason a buyer reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def zone_name(name: str | None) -> str:
    """An IANA zone the buyer's browser named, or UTC for anything else."""
    return name if name in _ZONES else "UTC"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone_name(name))
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed zones load
        return ZoneInfo("UTC")


def local_time(value: str | datetime | None, tz: str) -> dict[str, str] | None:
    """An API timestamp as the buyer reads it: their zone's wall clock and the zone's name."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = moment.astimezone(_zone(tz))
    return {
        "iso": moment.astimezone(UTC).isoformat(),
        "text": f"{local.strftime(TIME_FORMAT)} {local.tzname()}",
    }


def estimate(
    value: str | None,
    tz: str,
    now: datetime,
    *,
    status: str,
    tracking: TrackingStatus | None = None,
) -> dict[str, Any] | None:
    """An estimated delivery as the buyer reads it, `late` once it has passed while the order is
    still on its way (after a restart the carrier may not have sent a new one, decision 0207)."""
    shown = local_time(value, tz)
    if value is None or shown is None:
        return None
    late = later_than_estimated(
        datetime.fromisoformat(value), now, status=OrderStatus(status), tracking=tracking
    )
    return {**shown, "late": late}


async def open_link(api: QueryApi, link_token: str, tz: str) -> BuyerSession:
    if not link_token or len(link_token) > 4_000:
        raise LinkNotAccepted("This link is incomplete. Open it again from your e-mail.")
    try:
        answer = await api.buyer_session(link_token)
    except ApiError as exc:
        if exc.status in (400, 401):
            raise LinkNotAccepted(_refusal(exc.detail)) from None
        raise
    expires = datetime.fromisoformat(answer["expires_at"])
    return new_buyer_session(
        buyer_user_id=str(answer["buyer_user_id"]),
        api_token=str(answer["access_token"]),
        expires_at=int(expires.timestamp()),
        tz=zone_name(tz),
    )


def _refusal(detail: str) -> str:
    if "expired" in detail:
        return "This link has expired. Ask for a new sign-in link below."
    if "already been used" in detail:
        return "This sign-in link has already been used. Ask for a new one below."
    return "This link is not valid. Open it again from your e-mail, or ask for a new one below."


async def request_sign_in(api: QueryApi, email: str) -> str | None:
    """None when the mail was asked for; otherwise what is wrong with the address."""
    email = email.strip()
    if not 3 <= len(email) <= MAX_EMAIL_LENGTH or email.count("@") != 1 or " " in email:
        return "Enter the e-mail address of your order, like ana@example.com."
    await api.buyer_sign_in(email)
    return None


@dataclass(frozen=True)
class OrderCenter:
    tabs: list[dict[str, Any]]
    current: str | None
    items: list[dict[str, Any]]
    next_cursor: str | None


async def order_center(
    api: QueryApi, session: BuyerSession, tab: str | None, cursor: str | None
) -> OrderCenter:
    chosen = tab if tab in {t.value for t in BuyerTab} else None
    params = [("limit", "20")]
    if chosen:
        params.append(("tab", chosen))
    if cursor:
        params.append(("cursor", cursor))
    answer = await api.my_orders(session.api_token, params)
    now = datetime.now(UTC)
    items = [center_item(item, session.tz, now) for item in answer["items"]]
    return OrderCenter(answer["tabs"], chosen, items, answer.get("next_cursor"))


def center_item(item: Mapping[str, Any], tz: str, now: datetime) -> dict[str, Any]:
    """One order of the order center, worded and localised."""
    return {
        **item,
        "href": f"/buyer/orders/{quote(item['id'], safe='')}",
        "created": local_time(item["created_at"], tz),
        "estimated": estimate(item.get("estimated_delivery_at"), tz, now, status=item["status"]),
    }


def _last_checkpoint(packages: list[Mapping[str, Any]]) -> datetime | None:
    times = [
        datetime.fromisoformat(p["last_checkpoint_at"])
        for p in packages
        if p.get("last_checkpoint_at")
    ]
    return max(times) if times else None


def order_page(
    order: Mapping[str, Any], tz: str, *, stalled_hours: int, now: datetime
) -> dict[str, Any]:
    """The order as the buyer's page shows it (the API's buyer detail, worded and localised)."""
    packages = []
    for package in order["packages"]:
        tracking = TrackingStatus(package["tracking_status"])
        checkpoints = [
            {
                **c,
                "time": local_time(c["at"], tz),
                "words": TRACKING_WORDS[TrackingStatus(c["status"])],
            }
            # Newest first: the latest news is what a buyer looks for.
            for c in reversed(package["checkpoints"])
        ]
        packages.append(
            {
                **package,
                "words": TRACKING_WORDS[tracking],
                "issue": ISSUE_MESSAGES.get(tracking),
                "estimated": estimate(
                    package.get("estimated_delivery_at"),
                    tz,
                    now,
                    status=order["status"],
                    tracking=tracking,
                ),
                "timeline": checkpoints,
            }
        )
    last = _last_checkpoint(order["packages"])
    updated_at = datetime.fromisoformat(order["timestamps"]["updated_at"])
    stalled = is_stalled(
        OrderStatus(order["status"]), last, updated_at, hours=stalled_hours, now=now
    )
    return {
        **order,
        "packages_view": packages,
        "created": local_time(order["timestamps"]["created_at"], tz),
        "estimated": estimate(order.get("estimated_delivery_at"), tz, now, status=order["status"]),
        "return_words": RETURN_WORDS[ReturnStatus(order["return_status"])],
        "stalled": stalled,
        "stalled_since": local_time(last or updated_at, tz) if stalled else None,
        # A delivery issue the packages do not explain (e.g. an order-level flag) still shows.
        "issue_unexplained": order["delivery_issue"] and not any(p["issue"] for p in packages),
    }


async def my_order(
    api: QueryApi, session: BuyerSession, order_id: str, *, stalled_hours: int
) -> dict[str, Any]:
    order = await api.my_order(session.api_token, quote(order_id, safe=""))
    return order_page(order, session.tz, stalled_hours=stalled_hours, now=datetime.now(UTC))


async def order_stream(
    api: QueryApi, session: BuyerSession, order_id: str, last_event_id: str | None
) -> Any:
    """The buyer's stream of one order, opened before the page's response starts, so another
    buyer's order answers 404 as a status, not a broken stream."""
    path = f"/v1/me/orders/{quote(order_id, safe='')}/stream"
    return await api.open_stream(session.api_token, path, last_event_id)


async def orders_stream(api: QueryApi, session: BuyerSession, last_event_id: str | None) -> Any:
    """The buyer's stream of all their orders: the order center fetches itself again on each
    event, so its rows and its tab counts change together (decision 0216)."""
    return await api.open_stream(session.api_token, "/v1/me/orders/stream", last_event_id)


@dataclass(frozen=True)
class MailChoice:
    kind: str
    label: str
    hint: str
    on: bool
    problem: str | None = None


def mail_choices(
    email: Mapping[str, bool], problems: Mapping[str, str] | None = None
) -> list[MailChoice]:
    """The e-mail kinds as the buyer's form shows them, each ticked when the buyer wants it."""
    return [
        MailChoice(
            kind.value,
            *MAIL_WORDS[kind],
            on=bool(email.get(kind.value, True)),
            problem=(problems or {}).get(kind.value),
        )
        for kind in MailKind
    ]


class PreferencesRefused(Exception):
    """What is wrong with a submitted form, per field (a kind, or `form` for the whole form)."""

    def __init__(self, problems: dict[str, str], wanted: dict[str, bool]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems
        self.wanted = wanted


def wanted_mail(form: Mapping[str, str]) -> dict[str, bool]:
    """The form as the e-mail kinds a buyer wants: a ticked box sends `on`, an unticked one sends
    nothing. A field we never offered, or another value, is refused naming it (decision 0215)."""
    wanted = {kind: form.get(kind) == "on" for kind in MAIL_FIELDS}
    problems = {
        name: f"“{name}” is not one of the e-mails you can choose."
        for name in form
        if name not in wanted and name not in PREFERENCE_FORM_FIELDS
    }
    problems |= {
        kind: "Tick the box to get this e-mail, or leave it empty."
        for kind in wanted
        if form.get(kind) not in (None, "on")
    }
    if problems:
        raise PreferencesRefused(problems, wanted)
    return wanted


def api_problems(exc: ApiError) -> dict[str, str]:
    """query-api's 400 as problems per field: `body.email.<kind>` is that kind's box."""
    problems: dict[str, str] = {}
    for error in exc.errors:
        param = str(error.get("param", ""))
        kind = param.removeprefix("body.email.")
        field = kind if kind in MAIL_FIELDS else "form"
        problems.setdefault(field, str(error.get("message") or exc.detail))
    return problems or {"form": exc.detail}


async def mail_preferences(api: QueryApi, session: BuyerSession) -> dict[str, bool]:
    email: dict[str, bool] = (await api.preferences(session.api_token))["email"]
    return email


async def save_mail_preferences(
    api: QueryApi, session: BuyerSession, form: Mapping[str, str]
) -> dict[str, bool]:
    """Save the e-mails the buyer ticked; the seller half of the document (inbox kinds) is sent
    back as it was, since PUT replaces the whole of it."""
    wanted = wanted_mail(form)
    current = await api.preferences(session.api_token)
    try:
        saved = await api.put_preferences(
            session.api_token, {"inbox": current["inbox"], "email": wanted}
        )
    except ApiError as exc:
        if exc.status == 400:
            raise PreferencesRefused(api_problems(exc), wanted) from None
        raise
    email: dict[str, bool] = saved["email"]
    return email
