"""Fixtures of the status-tracker unit tests: recorded carrier responses, a manual clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tracker_fakes import ManualClock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "carriers"


@pytest.fixture
def carrier_response() -> Callable[[str], dict[str, Any]]:
    """`carrier_response("17track_gettrackinfo")`: a recorded response body, parsed."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
        return data

    return load


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
