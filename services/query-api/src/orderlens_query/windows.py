"""Stats windows and their periods in a time zone (pure functions).

A window is [start, end) in UTC. Dates are read in the zone: `from` starts its day, `to`
includes its whole day. Datetimes must fall on a 15-minute boundary, the grain of the
`sales_buckets` read model, so every sum is exact. Periods (day, week from Monday, month) are
calendar periods of the zone, clipped to the window; DST days are 23 or 25 hours long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from orderlens.filters import FilterError, ParamError, parse_moment, parse_tz


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Compare(StrEnum):
    PREVIOUS_PERIOD = "previous_period"
    PREVIOUS_YEAR = "previous_year"


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    tz: ZoneInfo
    # Both bounds were calendar dates: comparisons move by whole days, not durations.
    first_day: date | None = None
    last_day: date | None = None

    @property
    def by_dates(self) -> bool:
        return self.first_day is not None and self.last_day is not None

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _bound(name: str, raw: str, tz: ZoneInfo, *, end: bool) -> tuple[datetime, date | None]:
    try:
        value = parse_moment(raw)
    except ValueError as exc:
        raise FilterError.one(name, str(exc)) from None
    try:
        if isinstance(value, datetime):
            aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
            moment = aware.astimezone(UTC)
            if moment.minute % 15 or moment.second or moment.microsecond:
                raise FilterError.one(name, "must fall on a 15-minute boundary")
            return moment, None
        day = value + timedelta(days=1) if end else value
        return local_midnight(day, tz), value
    except OverflowError:
        raise FilterError.one(name, "out of range") from None


def resolve_window(
    from_: str | None,
    to: str | None,
    tz_name: str,
    *,
    now: datetime,
    max_days: int,
    default_days: int = 30,
) -> Window:
    """The window of `from`/`to` in `tz` (default: the last `default_days` local days)."""
    try:
        tz = parse_tz(tz_name)
    except ValueError as exc:
        raise FilterError.one("tz", str(exc)) from None
    today = now.astimezone(tz).date()
    last_day: date | None
    first_day: date | None
    if to is None:
        end, last_day = local_midnight(today + timedelta(days=1), tz), today
    else:
        end, last_day = _bound("to", to, tz, end=True)
    if from_ is None:
        first = (last_day or end.astimezone(tz).date()) - timedelta(days=default_days - 1)
        start, first_day = local_midnight(first, tz), first
    else:
        start, first_day = _bound("from", from_, tz, end=False)
    errors = []
    if end <= start:
        errors.append(ParamError("to", "must be after from"))
    elif end - start > timedelta(days=max_days):
        errors.append(ParamError("to", f"the window may span at most {max_days} days"))
    if errors:
        raise FilterError(errors)
    return Window(start, end, tz, first_day, last_day)


def _period_start(day: date, interval: Interval) -> date:
    if interval == Interval.WEEK:
        return day - timedelta(days=day.weekday())
    if interval == Interval.MONTH:
        return day.replace(day=1)
    return day


def _next_start(day: date, interval: Interval) -> date:
    if interval == Interval.DAY:
        return day + timedelta(days=1)
    if interval == Interval.WEEK:
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _label(day: date, interval: Interval) -> str:
    return day.strftime("%Y-%m") if interval == Interval.MONTH else day.isoformat()


def periods(window: Window, interval: Interval) -> list[Period]:
    """The calendar periods of `interval` in the window's zone, clipped to the window."""
    out: list[Period] = []
    day = _period_start(window.local(window.start).date(), interval)
    while True:
        following = _next_start(day, interval)
        start = max(window.start, local_midnight(day, window.tz))
        end = min(window.end, local_midnight(following, window.tz))
        if start >= window.end:
            break
        if end > start:
            out.append(Period(_label(day, interval), start, end))
        day = following
    return out


def _year_before(moment: date) -> date:
    try:
        return moment.replace(year=moment.year - 1)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - 1, day=28)


def comparison_window(window: Window, compare: Compare) -> Window:
    """The window compared with: the same length just before, or the same dates a year before."""
    tz = window.tz
    try:
        if window.first_day is not None and window.last_day is not None:
            if compare == Compare.PREVIOUS_PERIOD:
                days = (window.last_day - window.first_day).days + 1
                first = window.first_day - timedelta(days=days)
                last = window.first_day - timedelta(days=1)
            else:
                first, last = _year_before(window.first_day), _year_before(window.last_day)
            return Window(
                local_midnight(first, tz),
                local_midnight(last + timedelta(days=1), tz),
                tz,
                first,
                last,
            )
        if compare == Compare.PREVIOUS_PERIOD:
            length = window.end - window.start
            return Window(window.start - length, window.start, tz)
        start, end = window.local(window.start), window.local(window.end)
        start_day, end_day = _year_before(start.date()), _year_before(end.date())
        return Window(
            datetime.combine(start_day, start.time(), tzinfo=tz).astimezone(UTC),
            datetime.combine(end_day, end.time(), tzinfo=tz).astimezone(UTC),
            tz,
        )
    except OverflowError:
        raise FilterError.one("compare", "the comparison window is out of range") from None
