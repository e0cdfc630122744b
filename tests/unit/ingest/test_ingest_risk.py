"""Risk rules (docs/risk-rules.md), one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ing_unit_support import in_order, seed_orders

from orderlens.domain.order import Address, Order
from orderlens_ingest.domain.risk import (
    BULK_QUANTITY,
    COD_HIGH_VALUE,
    PHONE_COUNTRY,
    SHARED_ADDRESS,
    Neighbour,
    RiskRules,
    address_key,
    bulk_quantity,
    cod_high_value,
    intrinsic_flags,
    phone_country_mismatch,
    shared_address_flags,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _order(currency: str = "USD") -> Order:
    return next(
        in_order(o) for o in seed_orders(80) if o.initial["payment"]["currency"] == currency
    )


def test_seed_orders_are_mostly_clean() -> None:
    flagged = [in_order(o) for o in seed_orders(60)]
    assert sum(1 for o in flagged if o.risk) < len(flagged) / 2
    for order in flagged:
        assert order.risk == [f.code for f in order.risk_flags]


def test_phone_of_another_country() -> None:
    order = _order()
    assert phone_country_mismatch(order) is None
    abroad = order.model_copy(
        update={"recipient": order.recipient.model_copy(update={"phone": "(+44)7700900123"})}
    )
    flag = phone_country_mismatch(abroad)
    assert flag is not None
    assert flag.code == PHONE_COUNTRY
    assert "+44" in flag.reason
    assert "US" in flag.reason
    unknown = order.model_copy(
        update={"recipient": order.recipient.model_copy(update={"phone": "(+999)123"})}
    )
    assert phone_country_mismatch(unknown) is None


def test_cash_on_delivery_above_the_ceiling() -> None:
    order = _order()
    rules = RiskRules(cod_thresholds={"USD": 10_000})
    money = order.money.model_copy(update={"total": 10_001})
    assert cod_high_value(order.model_copy(update={"money": money}), rules) is None  # not COD
    cod = order.model_copy(update={"money": money, "is_cod": True})
    flag = cod_high_value(cod, rules)
    assert flag is not None
    assert flag.code == COD_HIGH_VALUE
    assert "100.01 USD" in flag.reason
    assert "100.00 USD" in flag.reason
    at_limit = cod.model_copy(update={"money": money.model_copy(update={"total": 10_000})})
    assert cod_high_value(at_limit, rules) is None
    assert cod_high_value(cod, RiskRules(cod_thresholds={})) is None  # no ceiling, no flag


def test_many_units_of_one_sku() -> None:
    order = _order()
    item = order.items[0].model_copy(update={"quantity": 12})
    bulk = order.model_copy(update={"items": [item]})
    flag = bulk_quantity(bulk, RiskRules(bulk_quantity=10))
    assert flag is not None
    assert flag.code == BULK_QUANTITY
    assert "12 units" in flag.reason
    assert bulk_quantity(bulk, RiskRules(bulk_quantity=13)) is None
    assert {f.code for f in intrinsic_flags(bulk, RiskRules())} == {BULK_QUANTITY}


def test_address_key_ignores_case_accents_and_punctuation() -> None:
    one = Address(lines=["12 Hauptstraße", "Apt. 3"], postal_code="10115", country_code="DE")
    two = Address(lines=["12  HAUPTSTRASSE", "apt 3"], postal_code=" 10115", country_code="de")
    other = Address(lines=["14 Hauptstraße", "Apt. 3"], postal_code="10115", country_code="DE")
    assert address_key(one) is not None
    # ß folds to nothing in ASCII: "hauptstrae" vs "hauptstrasse" differ; punctuation and case
    # do not matter.
    assert address_key(one) == address_key(
        one.model_copy(update={"lines": ["12 HAUPTSTRAßE", "apt 3"]})
    )
    assert address_key(two) != address_key(other)
    assert address_key(Address(lines=["12 Main St"])) is None  # no postal code: too vague


def _n(order_id: str, hours: float, buyer: str | None) -> Neighbour:
    return Neighbour(order_id, "addr", T0 + timedelta(hours=hours), buyer)


def test_several_buyers_at_one_address_within_a_day() -> None:
    rules = RiskRules(shared_address_buyers=3, shared_address_window=timedelta(hours=24))
    orders = [_n("a", 0, "u1"), _n("b", 5, "u2"), _n("c", 20, "u3"), _n("d", 50, "u4")]
    verdicts = shared_address_flags(orders, rules)
    assert {k for k, v in verdicts.items() if v} == {"a", "b", "c"}
    assert all(v is None or v.code == SHARED_ADDRESS for v in verdicts.values())
    # The same buyer twice is one buyer.
    same = [_n("a", 0, "u1"), _n("b", 1, "u1"), _n("c", 2, "u2")]
    assert not any(shared_address_flags(same, rules).values())
    # A function of the set: any order of the input gives the same verdicts.
    assert shared_address_flags(list(reversed(orders)), rules) == verdicts
