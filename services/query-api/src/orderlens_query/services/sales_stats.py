"""Sales over a window (docs/contract.md §5.3), from the 15-minute `sales_buckets` read model.

Buckets of the caller's shops are read with a projection and summed per currency into local
days, weeks or months here: every zone offset is a multiple of 15 minutes, so each period is a
whole number of buckets and the figures equal a recount of the orders.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from orderlens.domain.money import format_minor
from orderlens.mongo import Document
from orderlens_query.adapters.sales_buckets import SUMMED, SalesBuckets
from orderlens_query.models.stats import (
    CurrencySales,
    SalesDeltas,
    SalesFigures,
    SalesPeriod,
    SalesStats,
)
from orderlens_query.windows import Compare, Interval, Period, Window, comparison_window, periods


@dataclass
class Tally:
    orders: int = 0
    units: int = 0
    gross: int = 0
    cancelled: int = 0
    cancelled_gross: int = 0

    def add(self, row: dict[str, Any]) -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + int(row.get(name) or 0))

    def merge(self, other: Tally) -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def average(self) -> int | None:
        if not self.orders:
            return None
        return int((Decimal(self.gross) / self.orders).quantize(Decimal(1), ROUND_HALF_EVEN))

    def figures(self, currency: str) -> dict[str, Any]:
        average = self.average
        return {
            "orders": self.orders,
            "units": self.units,
            "gross": format_minor(self.gross, currency),
            "cancelled": self.cancelled,
            "cancelled_gross": format_minor(self.cancelled_gross, currency),
            "average_order_value": None if average is None else format_minor(average, currency),
        }


@dataclass
class CurrencyTallies:
    per_period: list[Tally]
    comparison: Tally = field(default_factory=Tally)


def _pct(current: int | None, previous: int | None) -> float | None:
    if not previous or current is None:
        return None
    return round((current - previous) * 100 / previous, 2)


def tally(
    rows: Iterable[Document],
    current: Sequence[Period],
    compared: Window | None,
) -> dict[str, CurrencyTallies]:
    """Rows {currency, start, orders, ...} -> per currency: one tally per period + comparison."""
    starts = [p.start for p in current]
    out: dict[str, CurrencyTallies] = {}
    for row in rows:
        currency = row["currency"]
        tallies = out.setdefault(currency, CurrencyTallies([Tally() for _ in current]))
        moment: datetime = row["start"]
        index = bisect.bisect_right(starts, moment) - 1
        if index >= 0 and moment < current[index].end:
            tallies.per_period[index].add(row)
        elif compared is not None and compared.start <= moment < compared.end:
            tallies.comparison.add(row)
    return out


def build_sales(
    window: Window,
    interval: Interval,
    compare: Compare | None,
    tz_name: str,
    rows: Iterable[Document],
) -> SalesStats:
    current = periods(window, interval)
    compared = comparison_window(window, compare) if compare else None
    currencies = []
    for currency, tallies in sorted(tally(rows, current, compared).items()):
        totals = Tally()
        for part in tallies.per_period:
            totals.merge(part)
        entry = CurrencySales(
            currency=currency,
            periods=[
                SalesPeriod(
                    label=p.label,
                    start=window.local(p.start),
                    end=window.local(p.end),
                    **t.figures(currency),
                )
                for p, t in zip(current, tallies.per_period, strict=True)
            ],
            totals=SalesFigures(**totals.figures(currency)),
        )
        if compared is not None:
            before = tallies.comparison
            entry.comparison = SalesFigures(**before.figures(currency))
            entry.delta_pct = SalesDeltas(
                orders=_pct(totals.orders, before.orders),
                units=_pct(totals.units, before.units),
                gross=_pct(totals.gross, before.gross),
                cancelled=_pct(totals.cancelled, before.cancelled),
                average_order_value=_pct(totals.average, before.average),
            )
        currencies.append(entry)
    return SalesStats(
        from_=window.local(window.start),
        to=window.local(window.end),
        tz=tz_name,
        interval=interval,
        compare=compare,
        comparison_from=None if compared is None else compared.local(compared.start),
        comparison_to=None if compared is None else compared.local(compared.end),
        currencies=currencies,
    )


async def sales_stats(
    buckets: SalesBuckets,
    shop_ids: Collection[str],
    currencies: Collection[str],
    window: Window,
    interval: Interval,
    compare: Compare | None,
    tz_name: str,
) -> SalesStats:
    spans = [window]
    if compare is not None:
        spans.append(comparison_window(window, compare))
    rows = await buckets.read(shop_ids, currencies, spans)
    return build_sales(window, interval, compare, tz_name, rows)
