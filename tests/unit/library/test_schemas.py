"""The committed JSON Schemas in docs/schemas/ are exactly what the models generate."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _render() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location(
        "generate_schemas", ROOT / "scripts" / "generate_schemas.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered: dict[str, str] = module.render()
    return rendered


def test_committed_schemas_match_the_models() -> None:
    rendered = _render()
    committed = {p.name: p.read_text() for p in (ROOT / "docs" / "schemas").glob("*.json")}
    assert set(committed) == set(rendered), "run `make schemas` and commit docs/schemas/"
    for name, text in rendered.items():
        assert committed[name] == text, f"{name} drifted from the models: run `make schemas`"


def test_there_is_one_schema_per_event_type() -> None:
    assert sorted(_render()) == [
        "orderlens.export.completed.v1.schema.json",
        "orderlens.export.requested.v1.schema.json",
        "orderlens.order.created.v1.schema.json",
        "orderlens.order.status_changed.v1.schema.json",
    ]
