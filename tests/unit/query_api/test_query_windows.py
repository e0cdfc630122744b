"""Stats windows and periods in a time zone, across daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from orderlens.filters import FilterError
from orderlens_query.windows import (
    Compare,
    Interval,
    Window,
    comparison_window,
    periods,
    resolve_window,
)

NOW = datetime(2025, 3, 20, 12, tzinfo=UTC)


def window(from_: str | None, to: str | None, tz: str = "America/New_York") -> Window:
    return resolve_window(from_, to, tz, now=NOW, max_days=400)


def test_dates_are_read_in_the_zone_and_to_includes_its_day() -> None:
    w = window("2025-03-01", "2025-03-15")
    assert w.start == datetime(2025, 3, 1, 5, tzinfo=UTC)  # EST
    assert w.end == datetime(2025, 3, 16, 4, tzinfo=UTC)  # EDT


def test_days_across_the_spring_change_are_23_hours_long() -> None:
    days = periods(window("2025-03-08", "2025-03-10"), Interval.DAY)
    assert [p.label for p in days] == ["2025-03-08", "2025-03-09", "2025-03-10"]
    assert [p.end - p.start for p in days] == [
        timedelta(hours=24),
        timedelta(hours=23),
        timedelta(hours=24),
    ]


def test_days_across_the_autumn_change_in_sydney() -> None:
    days = periods(window("2025-04-05", "2025-04-06", "Australia/Sydney"), Interval.DAY)
    assert [p.end - p.start for p in days] == [timedelta(hours=24), timedelta(hours=25)]


def test_weeks_start_on_monday_and_months_on_the_first_clipped_to_the_window() -> None:
    weeks = periods(window("2025-03-01", "2025-03-15"), Interval.WEEK)
    assert [p.label for p in weeks] == ["2025-02-24", "2025-03-03", "2025-03-10"]
    assert weeks[0].start == datetime(2025, 3, 1, 5, tzinfo=UTC)
    months = periods(window("2025-01-20", "2025-03-02"), Interval.MONTH)
    assert [p.label for p in months] == ["2025-01", "2025-02", "2025-03"]
    assert months[-1].end == datetime(2025, 3, 3, 5, tzinfo=UTC)
    assert all(a.end == b.start for a, b in itertools.pairwise(months))


def test_default_window_is_the_last_30_local_days() -> None:
    w = resolve_window(None, None, "Asia/Tokyo", now=NOW, max_days=400)
    assert w.first_day is not None
    assert w.last_day is not None
    assert (w.last_day - w.first_day).days == 29
    assert w.last_day.isoformat() == "2025-03-20"


def test_comparison_windows() -> None:
    w = window("2025-03-01", "2025-03-15")
    before = comparison_window(w, Compare.PREVIOUS_PERIOD)
    assert (before.first_day, before.last_day) == (
        datetime(2025, 2, 14).date(),
        datetime(2025, 2, 28).date(),
    )
    year = comparison_window(window("2024-02-29", "2024-03-01"), Compare.PREVIOUS_YEAR)
    assert (year.first_day, year.last_day) == (
        datetime(2023, 2, 28).date(),
        datetime(2023, 3, 1).date(),
    )
    exact = resolve_window(
        "2025-03-01T10:00:00Z", "2025-03-01T12:00:00Z", "UTC", now=NOW, max_days=400
    )
    assert comparison_window(exact, Compare.PREVIOUS_PERIOD).start == datetime(
        2025, 3, 1, 8, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("from_", "to", "tz", "param"),
    [
        ("2025-03-01T10:07:00Z", None, "UTC", "from"),
        ("2025-03-10", "2025-03-01", "UTC", "to"),
        ("2020-01-01", "2025-01-01", "UTC", "to"),
        (None, None, "Atlantis/Capital", "tz"),
        ("yesterday", None, "UTC", "from"),
        ("9999-12-31", "9999-12-31", "Asia/Tokyo", "to"),
    ],
)
def test_bad_windows_name_the_parameter(
    from_: str | None, to: str | None, tz: str, param: str
) -> None:
    with pytest.raises(FilterError) as caught:
        resolve_window(from_, to, tz, now=NOW, max_days=400)
    assert [e.param for e in caught.value.errors] == [param]
