"""The committed contract documents (docs/schemas/, docs/asyncapi.json, docs/openapi.json) are
exactly what the code generates."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from orderlens.events import EventType, StatusChanged
from orderlens.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[3]


def _generator() -> Any:
    """scripts/generate_schemas.py, loaded as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "generate_schemas", ROOT / "scripts" / "generate_schemas.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _render() -> dict[str, str]:
    rendered: dict[str, str] = _generator().render()
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


def test_committed_asyncapi_and_openapi_documents_match_the_code() -> None:
    for name, text in _generator().render_documents().items():
        committed = ROOT / "docs" / name
        assert committed.exists(), f"docs/{name} is missing: run `make schemas` and commit it"
        drifted = f"docs/{name} drifted from the code: run `make schemas`"
        assert committed.read_text() == text, drifted


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_the_asyncapi_document_names_every_topic_and_event_type() -> None:
    document = json.loads(_generator().render_documents()["asyncapi.json"])
    assert document["asyncapi"] == "3.0.0"
    settings = ServiceSettings()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {
        settings.topic_orders_created,
        settings.topic_status_changed,
        settings.topic_export_requested,
        settings.topic_export_completed,
        settings.topic_dead_letter,
    }
    titles = {m["name"] for m in document["components"]["messages"].values()}
    assert {t.value for t in EventType} <= titles
    for ref in _refs(document):
        assert _resolve(document, ref) is not None, ref
    status_changed = _resolve(document, "#/components/schemas/StatusChanged")
    assert set(StatusChanged.model_fields) == set(status_changed["properties"])
