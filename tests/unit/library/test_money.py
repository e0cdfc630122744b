from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderlens.domain.money import format_minor, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.34", "USD", 1234), ("0", "EUR", 0), ("1200", "JPY", 1200), ("1.005", "KWD", 1005),
     ("19.9", "GBP", 1990), ("-3.50", "USD", -350)],
)  # fmt: skip
def test_decimal_strings_become_minor_units_and_back(
    amount: str, currency: str, minor: int
) -> None:
    assert to_minor(amount, currency) == minor
    assert to_minor(format_minor(minor, currency), currency) == minor


def test_display_keeps_the_currency_precision() -> None:
    assert format_minor(1990, "GBP") == "19.90"
    assert format_minor(1200, "JPY") == "1200"


@pytest.mark.parametrize("bad", ["", "abc", "NaN", "Infinity", "1,00"])
def test_malformed_amounts_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        to_minor(bad, "USD")


@given(
    amount=st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
        st.from_regex(r"-?[0-9]{0,6}(\.[0-9]{0,4})?", fullmatch=True),
    ),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_plain_strings_read_fast_equal_the_decimal_reading(amount: str, currency: str) -> None:
    """The digit-by-digit reading of TikTok's amounts gives what `Decimal` gives, or refuses
    what it refuses."""
    try:
        expected: int | None = to_minor(Decimal(amount), currency)
    except (InvalidOperation, ValueError):
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match=r".+"):
            to_minor(amount, currency)
    else:
        assert to_minor(amount, currency) == expected
