"""Vendored assets are the pinned files their record says (static/vendor/VERSIONS.md)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

import orderlens_console

VENDOR = Path(orderlens_console.__file__).parent / "static" / "vendor"


@pytest.mark.unit
def test_every_vendored_file_matches_its_recorded_sha256() -> None:
    rows = re.findall(
        r"^\| (\S+) \|.*\| ([0-9a-f]{64}) \|$", (VENDOR / "VERSIONS.md").read_text(), re.M
    )
    files = {p.name for p in VENDOR.iterdir() if p.name != "VERSIONS.md"}
    assert {name for name, _ in rows} == files
    for name, digest in rows:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.unit
def test_no_page_loads_anything_from_another_origin() -> None:
    templates = Path(orderlens_console.__file__).parent / "templates"
    for template in templates.rglob("*.html"):
        assert not re.search(r'(src|href)="(https?:)?//', template.read_text()), template.name
