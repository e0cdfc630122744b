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
