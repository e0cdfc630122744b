"""Exports (SPEC §5.5): written by the exporter's engineer (issue #6); included by the app.

Use `orderlens_query.auth` (`CanExport`, `AppRuntime`) and `orderlens_query.problems`.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["exports"])
