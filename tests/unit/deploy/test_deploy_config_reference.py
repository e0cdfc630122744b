"""docs/configuration.md is generated from the settings classes, and the deployment only sets
variables that the services' settings really read."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
from deploy_contract import (
    HTTP_SERVICES,
    ORDERLENS_SERVICES,
    OVERLAYS,
    REPO_ROOT,
    SERVICE_ENV,
    SERVICES,
    kustomize_command,
    load_yaml,
    render_overlay,
)

pytestmark = pytest.mark.unit

SCRIPT = REPO_ROOT / "scripts/config_reference.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("config_reference", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("config_reference", module)
    spec.loader.exec_module(module)
    return module


config_reference = _script()


def settings_variables() -> tuple[set[str], dict[str, set[str] | None]]:
    """Common variables, and per service its variables (None: no settings module yet)."""
    common_classes, services = config_reference.collect()
    common = {v.name for cls in common_classes for v in config_reference.variables(cls)}
    per_service: dict[str, set[str] | None] = {}
    for service, _, classes in services:
        if not classes:
            per_service[service] = None
            continue
        per_service[service] = common | {
            v.name for cls in classes for v in config_reference.variables(cls)
        }
    return common, per_service


def deployed_variables(service: str) -> set[str]:
    """Variables docker-compose.yml and the Kubernetes overlays set for a service."""
    compose = load_yaml(REPO_ROOT / "docker-compose.yml")
    names = set(compose["services"][service].get("environment") or {})
    if kustomize_command() is not None:
        for overlay in OVERLAYS:
            rendered = render_overlay(overlay)
            maps = {o["metadata"]["name"]: o for o in rendered if o["kind"] == "ConfigMap"}
            for obj in rendered:
                if obj["kind"] == "Deployment" and obj["metadata"]["name"] == service:
                    (c,) = obj["spec"]["template"]["spec"]["containers"]
                    names |= {e["name"] for e in c.get("env") or []}
                    for source in c.get("envFrom") or []:
                        names |= set(maps[source["configMapRef"]["name"]].get("data") or {})
    return names


def test_configuration_reference_is_up_to_date() -> None:
    text = config_reference.render()
    assert text.startswith("# Configuration reference")
    current = config_reference.OUTPUT.read_text(encoding="utf-8")
    assert current == text, (
        "docs/configuration.md is stale: run `uv run python scripts/config_reference.py`"
    )
    assert config_reference.main(["--check"]) == 0


def test_common_settings_read_the_shared_variables() -> None:
    common, _ = settings_variables()
    assert common, "orderlens.settings has no settings class"
    shared = set.intersection(*(SERVICE_ENV[s] for s in ORDERLENS_SERVICES))
    assert shared <= common, f"not read by orderlens.settings: {sorted(shared - common)}"


@pytest.mark.parametrize("service", HTTP_SERVICES)
def test_deployment_sets_only_variables_the_service_reads(service: str) -> None:
    _, per_service = settings_variables()
    known = per_service[service]
    assert known is not None, f"{service} has no settings class: nothing it reads is known"
    deployed = deployed_variables(service)
    assert deployed, f"{service}: the deployment sets no variables at all (wrong service name?)"
    unknown = deployed - known
    assert not unknown, (
        f"{service}: the deployment sets {sorted(unknown)}, which no settings class of the "
        "service reads (a typo, or a setting that was removed)"
    )


PACKAGES = {
    "order-ingest": "orderlens_ingest",
    "status-tracker": "orderlens_tracker",
    "exporter": "orderlens_exporter",
}


@pytest.mark.parametrize("service", sorted(PACKAGES))
def test_consumer_group_matches_the_autoscaler(service: str) -> None:
    """KEDA reads the lag of a consumer group by name: it must be the group the service joins
    (a settings default or a module constant of `<package>.settings`)."""
    expected = SERVICES[service].consumer_group
    module = config_reference._import(f"{PACKAGES[service]}.settings")
    assert module is not None, f"{PACKAGES[service]}.settings does not exist"
    candidates = {
        value
        for name, value in vars(module).items()
        if "GROUP" in name.upper() and isinstance(value, str)
    }
    for cls in config_reference.settings_classes(module):
        for name, info in cls.model_fields.items():
            if "group" in name and isinstance(info.default, str):
                candidates.add(info.default)
    assert expected in candidates, f"{service}: consumer group {expected!r} not in {candidates}"
