"""Risk flags computed at ingest (the rules are documented in docs/risk-rules.md).

Each rule is a plain function of the order (and, for the shared-address rule, of its
neighbours), so a redelivered or reordered snapshot gives the same flags.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from orderlens.domain.money import format_minor
from orderlens.domain.order import Address, Order, RiskFlag

PHONE_COUNTRY = "phone_country_mismatch"
COD_HIGH_VALUE = "cod_high_value"
BULK_QUANTITY = "bulk_quantity"
SHARED_ADDRESS = "shared_address"

# Default COD ceilings, in minor units, per currency (about 200 USD).
DEFAULT_COD_THRESHOLDS: dict[str, int] = {
    "USD": 20_000,
    "GBP": 16_000,
    "EUR": 18_000,
    "MYR": 80_000,
    "MXN": 400_000,
    "JPY": 30_000,
    "SGD": 27_000,
    "THB": 700_000,
    "PHP": 1_100_000,
    "VND": 5_000_000,
    "IDR": 320_000_000,
}

# International calling code -> ISO 3166 countries using it (for the markets TikTok Shop serves
# and their neighbours; an unknown code never raises a flag).
CALLING_CODES: dict[str, frozenset[str]] = {
    "1": frozenset({"US", "CA", "PR"}),
    "44": frozenset({"GB", "IM", "JE", "GG"}),
    "49": frozenset({"DE"}),
    "33": frozenset({"FR"}),
    "34": frozenset({"ES"}),
    "39": frozenset({"IT"}),
    "52": frozenset({"MX"}),
    "55": frozenset({"BR"}),
    "60": frozenset({"MY"}),
    "62": frozenset({"ID"}),
    "63": frozenset({"PH"}),
    "65": frozenset({"SG"}),
    "66": frozenset({"TH"}),
    "81": frozenset({"JP"}),
    "82": frozenset({"KR"}),
    "84": frozenset({"VN"}),
    "86": frozenset({"CN"}),
    "61": frozenset({"AU"}),
}
_PHONE_CODE = re.compile(r"^\s*\(?\s*\+\s*(\d{1,3})\s*\)")


@dataclass(frozen=True)
class RiskRules:
    cod_thresholds: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_COD_THRESHOLDS))
    bulk_quantity: int = 10
    shared_address_buyers: int = 3
    shared_address_window: timedelta = timedelta(hours=24)


def phone_country_mismatch(order: Order) -> RiskFlag | None:
    """The recipient's phone is of another country than the shipping address.

    TikTok's order carries no billing address; the phone's calling code is the buyer-side
    country signal it does carry.
    """
    recipient = order.recipient
    if not recipient.phone or not recipient.country_code:
        return None
    match = _PHONE_CODE.match(recipient.phone)
    if match is None:
        return None
    countries = CALLING_CODES.get(match.group(1))
    if countries is None or recipient.country_code in countries:
        return None
    return RiskFlag(
        code=PHONE_COUNTRY,
        reason=f"phone +{match.group(1)} is not of the shipping country {recipient.country_code}",
    )


def cod_high_value(order: Order, rules: RiskRules) -> RiskFlag | None:
    """Cash on delivery above the currency's ceiling: the costliest parcels to see refused."""
    if not order.is_cod:
        return None
    currency = order.money.currency
    threshold = rules.cod_thresholds.get(currency)
    if threshold is None or order.money.total <= threshold:
        return None
    return RiskFlag(
        code=COD_HIGH_VALUE,
        reason=f"cash on delivery of {format_minor(order.money.total, currency)} {currency} "
        f"is above {format_minor(threshold, currency)} {currency}",
    )


def bulk_quantity(order: Order, rules: RiskRules) -> RiskFlag | None:
    """Many units of one SKU in one order: reseller or stock-hoarding pattern."""
    largest = max(order.items, key=lambda item: item.quantity, default=None)
    if largest is None or largest.quantity < rules.bulk_quantity:
        return None
    return RiskFlag(
        code=BULK_QUANTITY,
        reason=f"{largest.quantity} units of SKU {largest.sku_id} (limit {rules.bulk_quantity})",
    )


def intrinsic_flags(order: Order, rules: RiskRules) -> list[RiskFlag]:
    """The flags that depend on the order alone."""
    found = (
        phone_country_mismatch(order),
        cod_high_value(order, rules),
        bulk_quantity(order, rules),
    )
    return [flag for flag in found if flag is not None]


def with_flags(order: Order, flags: Iterable[RiskFlag]) -> Order:
    ordered = sorted({flag.code: flag for flag in flags}.values(), key=lambda f: f.code)
    return order.model_copy(update={"risk_flags": ordered, "risk": [f.code for f in ordered]})


def shared_flag_of(order: Order) -> RiskFlag | None:
    return next((f for f in order.risk_flags if f.code == SHARED_ADDRESS), None)


# -- several buyers, one address -----------------------------------------------------------------


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


def address_key(address: Address) -> str | None:
    """A stable hash of the street address, postal code and country; None when too vague."""
    lines = " ".join(_normalise(line) for line in address.lines if line.strip())
    if not lines or not address.postal_code:
        return None
    text = "|".join((lines, _normalise(address.postal_code), (address.country_code or "").upper()))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def buyer_key(user_id: str | None, email: str | None, name: str | None) -> str | None:
    """Who bought: the TikTok user, else the e-mail, else the recipient's name."""
    if user_id:
        return f"user:{user_id}"
    if email:
        return f"email:{email.lower()}"
    if name:
        return f"name:{_normalise(name)}"
    return None


@dataclass(frozen=True)
class Neighbour:
    """What the shared-address rule needs of an order."""

    order_id: str
    address_key: str
    created_at: datetime
    buyer: str | None


def shared_address_flags(
    neighbours: Iterable[Neighbour], rules: RiskRules
) -> dict[str, RiskFlag | None]:
    """For each order: the flag when at least `shared_address_buyers` distinct buyers (itself
    included) ship to its address within `shared_address_window` of its creation, else None.

    A function of the set of orders, whatever the order they arrived in."""
    by_address: dict[str, list[Neighbour]] = {}
    for neighbour in neighbours:
        by_address.setdefault(neighbour.address_key, []).append(neighbour)
    window = rules.shared_address_window
    hours = int(window.total_seconds() // 3600)
    verdicts: dict[str, RiskFlag | None] = {}
    for group in by_address.values():
        for order in group:
            buyers = {
                n.buyer or f"order:{n.order_id}"
                for n in group
                if abs(n.created_at - order.created_at) <= window
            }
            verdicts[order.order_id] = (
                RiskFlag(
                    code=SHARED_ADDRESS,
                    reason=f"{len(buyers)} buyers ship to this address within {hours} h",
                )
                if len(buyers) >= rules.shared_address_buyers
                else None
            )
    return verdicts
