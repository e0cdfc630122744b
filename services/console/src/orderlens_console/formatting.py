"""How the pages word statuses and show times (Jinja filters, registered in app.py).

- Statuses and tabs in the seller's wording (docs/contract.md §4.2, `SELLER_STATUS_LABELS`),
  never the buyer's ("Received", "Waiting for delivery").
- Times in the zone of the view (the URL's `tz`, else the user's chosen zone, else the shop's,
  `CONSOLE_TIME_ZONE`), with the zone named, never as raw UTC ISO strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from orderlens.domain.status import OrderStatus, status_label
from orderlens.filters import parse_tz

ZONE_COOKIE = "orderlens_tz"
# Offered in the zone pickers (a datalist: any IANA name may be typed).
ZONE_NAMES = (
    *sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")),
    "UTC",
)


def valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        parse_tz(name.strip())
    except ValueError:
        return None
    return name.strip()


def view_zone(url_tz: str | None, chosen: str | None, default: str) -> str:
    """The zone a page reads dates in and shows times in."""
    return valid_zone(url_tz) or valid_zone(chosen) or default


def seller_status(value: Any) -> str:
    try:
        return status_label(OrderStatus(value), for_buyer=False)
    except ValueError:
        return humanize(value)


def humanize(value: Any) -> str:
    """An enum value as words: IN_TRANSIT → In transit, previous_period → Previous period."""
    if value is None:
        return ""
    return str(value).replace("_", " ").strip().capitalize()


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def localtime(value: Any, zone: str, *, seconds: bool = False) -> str:
    """`2026-03-31 17:05 PDT`: the instant in `zone`, its abbreviation or offset named."""
    moment = _parse(value)
    if moment is None:
        return "" if value is None else str(value)
    local = moment.astimezone(ZoneInfo(zone))
    label = local.strftime("%Z")
    if not label or label[0] in "+-":
        label = "UTC" + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]
    return local.strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "")) + " " + label


def iso(value: Any) -> str:
    """The machine-readable instant for `<time datetime=…>` (RFC 3339, UTC)."""
    moment = _parse(value)
    return moment.isoformat() if moment is not None else ""
