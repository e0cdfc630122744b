"""Generate docs/configuration.md from the pydantic-settings classes of orderlens.

    uv run python scripts/config_reference.py           # (re)write docs/configuration.md
    uv run python scripts/config_reference.py --check   # exit 1 when the file is stale

The settings are `orderlens.settings.*Settings` (what every service reads) and one class per
service in `<service package>.settings`. Service sections list only what a service adds to, or
changes in, the common settings. A settings module that does not exist yet is listed as such.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import json
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from pydantic import AliasChoices, AliasPath
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
OUTPUT = REPO_ROOT / "docs" / "configuration.md"

COMMON_MODULE = "orderlens.settings"
# (section title, settings module, deployment notes)
SERVICE_MODULES: tuple[tuple[str, str], ...] = (
    ("order-ingest", "orderlens_ingest.settings"),
    ("status-tracker", "orderlens_tracker.settings"),
    ("query-api", "orderlens_query.settings"),
    ("exporter", "orderlens_exporter.settings"),
    ("console", "orderlens_console.settings"),
    ("tiktok-connector", "orderlens_connector.settings"),
    ("notifier", "orderlens_notifier.settings"),
    ("webhook-dispatcher", "orderlens_webhooks.settings"),
)


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    default: str
    description: str
    field: str


def settings_classes(module: types.ModuleType) -> list[type[BaseSettings]]:
    """BaseSettings subclasses defined in the module, in source order."""
    classes = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, BaseSettings)
        and obj is not BaseSettings
        and obj.__module__ == module.__name__
    ]
    return sorted(classes, key=lambda c: inspect.getsourcelines(c)[1])


def _type_name(annotation: Any) -> str:
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return " | ".join(str(m.value) for m in annotation)
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    return getattr(annotation, "__name__", str(annotation).replace("typing.", ""))


def _plain(value: Any) -> Any:
    """JSON-friendly form of a default (enums by value, paths as strings)."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        try:
            value = info.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return "(computed)"
    elif info.default is PydanticUndefined:
        return "**required**"
    else:
        value = info.default
    value = _plain(value)
    if value is None:
        return "unset"
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "`" + ",".join(str(v) for v in value) + "`"
    if isinstance(value, dict):
        return "`" + json.dumps(value, separators=(",", ":")) + "`"
    return f"`{value}`"


def env_names(cls: type[BaseSettings], field: str, info: FieldInfo) -> list[str]:
    """The environment variable(s) pydantic-settings reads for a field."""
    config = cls.model_config
    prefix = str(config.get("env_prefix", "") or "")
    alias = info.validation_alias or info.alias
    if isinstance(alias, str):
        names = [alias]
    elif isinstance(alias, AliasChoices):
        names = [c for c in alias.choices if isinstance(c, str)]
    elif isinstance(alias, AliasPath):
        names = [str(alias.path[0])]
    else:
        names = [prefix + field]
    if not config.get("case_sensitive", False):
        names = [n.upper() for n in names]
    return names


def variables(cls: type[BaseSettings]) -> list[Variable]:
    out = []
    for field, info in cls.model_fields.items():
        description = _cell(info.description or "").replace("\n", " ")
        for name in env_names(cls, field, info):
            out.append(
                Variable(name, _type_name(info.annotation), _default(info), description, field)
            )
    return out


def _cell(text: str) -> str:
    """Escape pipes, which would split a Markdown table cell even inside a code span."""
    return text.replace("|", "\\|")


def _table(rows: list[Variable]) -> list[str]:
    lines = ["| Variable | Type | Default | Description |", "|---|---|---|---|"]
    lines += [
        f"| `{v.name}` | `{_cell(v.type)}` | {_cell(v.default)} | {v.description} |" for v in rows
    ]
    return lines


def _import(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def collect() -> tuple[list[type[BaseSettings]], list[tuple[str, str, list[type[BaseSettings]]]]]:
    """(common classes, [(service, module, classes)]); classes is empty when the module is
    missing."""
    common_module = _import(COMMON_MODULE)
    common = settings_classes(common_module) if common_module else []
    services = []
    for service, module_name in SERVICE_MODULES:
        module = _import(module_name)
        services.append((service, module_name, settings_classes(module) if module else []))
    return common, services


def render() -> str:
    common, services = collect()
    lines = [
        "# Configuration reference",
        "",
        "<!-- GENERATED by scripts/config_reference.py from the pydantic-settings classes; do not",
        "     edit by hand. Regenerate: `uv run python scripts/config_reference.py`. -->",
        "",
        "Every orderlens service is configured by environment variables (pydantic-settings, no",
        "prefix, case-insensitive), with defaults that work for a local run. docker-compose.yml",
        "and the Kubernetes manifests (`deploy/k8s`, ConfigMaps `orderlens-*-config` and the",
        "Secret `orderlens-secrets`) set them for the containers; see",
        "[running-in-production.md](running-in-production.md).",
        "",
        "Credentials (`MONGODB_URI` with a password, `JWT_SECRET`, `SEVENTEENTRACK_API_KEY`,",
        "`AFTERSHIP_API_KEY`) belong in a Secret, never in a ConfigMap.",
        "",
    ]
    base_fields: dict[str, Variable] = {}
    lines += ["## Common settings (every service)", ""]
    if not common:
        lines += [f"_`{COMMON_MODULE}` does not exist yet._", ""]
    for cls in common:
        rows = variables(cls)
        base_fields.update({v.name: v for v in rows})
        lines += [f"`{cls.__module__}.{cls.__qualname__}`", ""]
        doc = inspect.getdoc(cls)
        if doc:
            lines += [doc.splitlines()[0], ""]
        lines += [*_table(rows), ""]
    for service, module_name, classes in services:
        lines += [f"## {service}", ""]
        if not classes:
            lines += [f"_`{module_name}` does not exist yet: only the common settings apply._", ""]
            continue
        for cls in classes:
            lines += [f"`{cls.__module__}.{cls.__qualname__}`", ""]
            own = [v for v in variables(cls) if base_fields.get(v.name) != v]
            if own:
                lines += [*_table(own), ""]
            else:
                lines += ["No settings beyond the common ones.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `uv run python scripts/config_reference.py`")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
