"""Money as integer minor units plus an ISO 4217 currency (docs/contract.md §2)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

# ISO 4217 exponents that differ from 2, for the currencies TikTok Shop sells in and their peers.
_EXPONENTS: dict[str, int] = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "IDR": 2,
    "CLP": 0,
    "ISK": 0,
    "HUF": 2,
    "TWD": 2,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: str | Decimal | int, currency: str) -> int:
    """'12.34' USD -> 1234. Raises ValueError on a malformed or over-precise amount."""
    if isinstance(amount, str):
        fast = _plain_minor(amount, currency)
        if fast is not None:
            return fast
    try:
        value = Decimal(amount) if not isinstance(amount, Decimal) else amount
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        # TikTok never sends sub-minor precision for real currencies; round, don't fail.
        scaled = scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(scaled)


@lru_cache(maxsize=8192)
def _plain_minor(amount: str, currency: str) -> int | None:
    """TikTok's plain decimal strings read digit by digit (what `Decimal` gives), None for
    anything else. Cached: a snapshot holds some twenty amounts, and prices repeat."""
    places = exponent(currency)
    whole, dot, fraction = amount.partition(".")
    digits = whole[1:] if whole.startswith("-") else whole
    if (
        digits.isascii()
        and digits.isdigit()
        and (not dot or (fraction.isascii() and fraction.isdigit()))
        and len(fraction) <= places
    ):
        return int(whole + fraction.ljust(places, "0"))
    return None


def to_decimal(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


def format_minor(minor: int, currency: str) -> str:
    """1234 USD -> '12.34'; 1200 JPY -> '1200'."""
    places = exponent(currency)
    value = to_decimal(minor, currency)
    return f"{value:.{places}f}"
