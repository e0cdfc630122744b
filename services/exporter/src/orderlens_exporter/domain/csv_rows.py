"""CSV rows straight as text: the cells `rows.order_rows` + `csv_writer.csv_cell` would give.

The typed-cell path builds a `Decimal` per amount, a zone-converted datetime per time, a masked
copy of the order and a tuple per row part, then stringifies each cell; for CSV that is most of
the exporter's cost. Here each order's repeated parts (head, money, people, shipping) are
rendered once, amounts are formatted from their integer minor units, and per-export decisions
(masking, zone, currency places) are taken once. tests/unit/exporter/test_csv_equivalence.py
holds the two paths byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from orderlens.domain.money import exponent, to_decimal
from orderlens.domain.status import OrderStatus, ReturnStatus, TrackingStatus
from orderlens.events import Granularity
from orderlens.masking import mask_email, mask_name, mask_phone, mask_postal_code
from orderlens.roles import Role, sees_full_pii
from orderlens_exporter.domain.export_model import ExportItem, ExportOrder, ExportPackage

TextRow = list[str]

# OWASP's list: a spreadsheet reads a cell starting with one of these as a formula (or, for tab
# and CR, may strip them and then read a formula).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would evaluate; other text is unchanged."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# Status cells by value (a StrEnum member is looked up as its value). The values are fixed
# words, but go through `neutralise` anyway so that this stays right if a vocabulary grows.
_ENUM_TEXT: dict[str, str] = {
    member.value: neutralise(member.value)
    for vocabulary in (OrderStatus, ReturnStatus, TrackingStatus)
    for member in vocabulary
}
# `Decimal.scaleb` rounds to the context's 28 digits; below this the integer arithmetic of
# `_amount` gives the same text, above it the `Decimal` route is taken.
_EXACT_LIMIT = 10**27


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _texts(values: list[str | None]) -> TextRow:
    """`_text` of each value, inlined: this runs for most cells of every row."""
    return ["" if v is None else "'" + v if v.startswith(FORMULA_TRIGGERS) else v for v in values]


def _amount(minor: int, places: int) -> str:
    """`format(to_decimal(minor, currency), "f")` without the `Decimal`."""
    if not -_EXACT_LIMIT < minor < _EXACT_LIMIT:
        return format(Decimal(minor).scaleb(-places), "f")
    if places == 0:
        return str(minor)
    if minor < 0:
        digits = str(-minor).rjust(places + 1, "0")
        return "-" + digits[:-places] + "." + digits[-places:]
    digits = str(minor).rjust(places + 1, "0")
    return digits[:-places] + "." + digits[-places:]


def _joined(values: list[str | None]) -> str:
    if len(values) == 1:
        return _text(values[0] or None)
    unique = list(dict.fromkeys(v for v in values if v))
    return _text("; ".join(unique)) if unique else ""


class CsvRowBuilder:
    """Text rows for one export: its role's masking, its zone and its granularity."""

    def __init__(self, *, role: Role, zone: ZoneInfo, granularity: Granularity) -> None:
        self._masked = not sees_full_pii(role)
        self._zone = zone
        self._line = granularity == Granularity.LINE
        self._places: dict[str, int] = {}  # bounded by the currencies in use

    def rows(self, orders: Iterable[ExportOrder]) -> list[TextRow]:
        out: list[TextRow] = []
        for order in orders:
            self._order_rows(order, out)
        return out

    def _time(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return moment.astimezone(self._zone).isoformat(timespec="seconds")

    def _currency_places(self, currency: str) -> int:
        places = self._places.get(currency)
        if places is None:
            places = self._places[currency] = exponent(currency)
        return places

    def _order_rows(self, order: ExportOrder, out: list[TextRow]) -> None:
        time = self._time
        head = [
            _text(order.id),
            _ENUM_TEXT[order.status],
            _ENUM_TEXT[order.return_status],
            time(order.created_at),
            time(order.paid_at),
            time(order.shipped_at),
            time(order.delivered_at),
            time(order.cancelled_at),
            _text(order.shop_id),
        ]
        money = order.money
        currency = money.currency
        places = self._currency_places(currency)
        shipping_fee, tax = money.shipping_fee, money.tax
        money_tail = [
            "" if shipping_fee is None else _amount(shipping_fee, places),
            "" if tax is None else _amount(tax, places),
            _amount(money.total, places),
            *_texts([currency, order.payment_method]),
        ]
        people = self._people(order)
        packages = order.packages
        order_shipping = self._shipping(packages, order)
        if not self._line:
            counts = [str(len(order.items)), str(order.units)]
            out.append(head + counts + money_tail + order_shipping + people)
            return
        tail = money_tail + order_shipping + people
        for item in order.items:
            item_tail = tail
            # An item in some of the order's packages shows those (rows._item_packages).
            if item.package_ids and len(packages) > 1:
                matched = [p for p in packages if p.package_id in item.package_ids]
                if matched and len(matched) < len(packages):
                    item_tail = money_tail + self._shipping(matched, order) + people
            out.append(head + _sku_cells(item, currency, places) + item_tail)

    def _shipping(self, packages: list[ExportPackage], order: ExportOrder) -> TextRow:
        if len(packages) == 1:
            (package,) = packages
            return [
                *_texts([package.carrier or None, package.tracking_number or None]),
                _ENUM_TEXT[package.tracking_status],
                self._time(package.estimated_delivery_at or order.estimated_delivery_at),
            ]
        estimates = [p.estimated_delivery_at for p in packages if p.estimated_delivery_at]
        estimate = max(estimates) if estimates else order.estimated_delivery_at
        return [
            _joined([p.carrier for p in packages]),
            _joined([p.tracking_number for p in packages]),
            _joined([p.tracking_status.value for p in packages]),
            self._time(estimate),
        ]

    def _people(self, order: ExportOrder) -> TextRow:
        recipient = order.recipient
        buyer = order.buyer
        country = recipient.country or recipient.country_code
        if self._masked:
            # orderlens.masking.mask_order's rules: lines, full address and message dropped.
            postal_code = mask_postal_code(recipient.postal_code)
            coarse = [recipient.city, recipient.state, postal_code, recipient.country]
            return _texts(
                [
                    buyer.user_id,
                    mask_name(recipient.name),
                    mask_phone(recipient.phone),
                    mask_email(buyer.email),
                    country,
                    recipient.state,
                    recipient.city,
                    postal_code,
                    ", ".join(p for p in coarse if p) or None,
                    None,
                    order.seller_note,
                ]
            )
        if recipient.lines:
            address: str | None = ", ".join(recipient.lines)
        elif recipient.full_address:
            address = recipient.full_address
        else:
            coarse = [recipient.city, recipient.state, recipient.postal_code, recipient.country]
            address = ", ".join(p for p in coarse if p) or None
        return _texts(
            [
                buyer.user_id,
                recipient.name,
                recipient.phone,
                buyer.email,
                country,
                recipient.state,
                recipient.city,
                recipient.postal_code,
                address,
                buyer.message,
                order.seller_note,
            ]
        )


def _sku_cells(item: ExportItem, currency: str, places: int) -> TextRow:
    if item.unit_original_price is not None:
        unit_original = _amount(item.unit_original_price, places)
    else:
        # No original price stored: the typed path's own Decimal division and rounding.
        step = Decimal(1).scaleb(-places)
        before = to_decimal(item.subtotal_before_discount, currency)
        unit_original = format((before / item.quantity).quantize(step), "f")
    return [
        *_texts([item.sku_id, item.seller_sku, item.product_name, item.variation]),
        str(item.quantity),
        unit_original,
        _amount(item.subtotal_before_discount, places),
        _amount(item.seller_discount, places),
        _amount(item.platform_discount, places),
        _amount(item.subtotal_after_discount, places),
    ]
