"""The services really expose every metric the alert rules and the dashboard use.

For each service, its metrics modules are imported, every prometheus_client metric they define is
registered in a fresh registry, and the registry's real exposition (`generate_latest`) must
contain each contract metric the service owns, with the contract's type; the metric's label
names must equal the contract's.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import pytest
from deploy_contract import (
    CONTRACT_METRICS,
    DEPLOY,
    HTTP_SERVICES,
    REPO_ROOT,
    grafana_to_promql,
    load_json,
    load_yaml,
    metrics_in,
)
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase

pytestmark = pytest.mark.unit

CONSUMER = {
    "orderlens_messages_consumed_total",
    "orderlens_messages_applied_total",
    "orderlens_messages_ignored_total",
    "orderlens_dead_letters_total",
    "orderlens_batch_duration_seconds",
    "orderlens_consumer_lag",
    "orderlens_last_processed_timestamp_seconds",
}
HTTP = {"orderlens_http_requests_total", "orderlens_http_request_duration_seconds"}
EXPORTS = {
    "orderlens_exports_total",
    "orderlens_export_duration_seconds",
    "orderlens_exports_running",
    "orderlens_export_rows_total",
}
TRACKER = {
    "orderlens_tracker_polls_total",
    "orderlens_tracker_rate_limited_total",
    "orderlens_tracker_breaker_state",
    "orderlens_tracker_jobs_due",
    "orderlens_tracker_jobs_overdue",
    "orderlens_tracker_poll_duration_seconds",
}
TIKTOK = {
    "orderlens_tiktok_webhooks_total",
    "orderlens_tiktok_api_calls_total",
    "orderlens_tiktok_api_call_duration_seconds",
    "orderlens_tiktok_throttles_total",
    "orderlens_tiktok_token_expiry_timestamp_seconds",
    "orderlens_tiktok_backfill_lag_seconds",
    "orderlens_tiktok_shop_connected",
    "orderlens_tiktok_actions_total",
}
NOTIFIER = {"orderlens_notifier_inbox_items_total", "orderlens_notifier_mails_total"}
WEBHOOKS = {
    "orderlens_webhook_deliveries_total",
    "orderlens_webhook_enqueued_total",
    "orderlens_webhook_attempt_duration_seconds",
    "orderlens_webhook_delivery_latency_seconds",
}
# Which service must expose what (the shared library's families count for every service).
OWNED = {
    "order-ingest": CONSUMER,
    "exporter": CONSUMER | EXPORTS,
    "status-tracker": TRACKER,
    "query-api": HTTP,
    "console": HTTP,
    "tiktok-connector": TIKTOK,
    "notifier": CONSUMER | NOTIFIER,
    "webhook-dispatcher": CONSUMER | WEBHOOKS,
}
SERVICE_PACKAGES = {
    "order-ingest": "orderlens_ingest",
    "status-tracker": "orderlens_tracker",
    "query-api": "orderlens_query",
    "exporter": "orderlens_exporter",
    "console": "orderlens_console",
    "tiktok-connector": "orderlens_connector",
    "notifier": "orderlens_notifier",
    "webhook-dispatcher": "orderlens_webhooks",
}
SHARED_MODULE = "orderlens.metrics"


def used_metrics() -> set[str]:
    used: set[str] = set()
    for group in load_yaml(DEPLOY / "prometheus/alerts.yml")["groups"]:
        for rule in group["rules"]:
            used |= metrics_in(rule["expr"])
    dashboard = load_json(DEPLOY / "grafana/dashboards/orderlens.json")
    for panel in dashboard["panels"]:
        for p in [panel, *(panel.get("panels") or [])]:
            for target in p.get("targets") or []:
                used |= metrics_in(grafana_to_promql(target["expr"]))
    return used


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None  # the module (or its package) does not exist yet
        raise


def _service_metric_modules(package: str) -> tuple[list[ModuleType], str]:
    """`<package>.metrics`, or else every module of the package that uses prometheus_client."""
    own = _import(f"{package}.metrics")
    if own is not None:
        return [own], f"{package}.metrics"
    names = []
    for path in sorted(REPO_ROOT.glob(f"services/*/src/{package}/**/*.py")):
        if path.stem == "__main__" or "prometheus_client" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.with_suffix("").parts
        module = parts[parts.index("src") + 1 :]
        names.append(".".join(module[:-1] if module[-1] == "__init__" else module))
    modules = [m for m in (_import(n) for n in names) if m is not None]
    return modules, f"{package}.metrics (or a {package} module using prometheus_client)"


def _metric_objects(modules: list[ModuleType]) -> dict[str, MetricWrapperBase]:
    """Contract name -> metric object defined in the modules."""
    found: dict[str, MetricWrapperBase] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                name = value._name + ("_total" if value._type == "counter" else "")
                found[name] = value
    return found


def _exposition(objs: dict[str, MetricWrapperBase]) -> dict[str, str]:
    """`# TYPE` lines of the real text exposition: metric name -> type."""
    registry = CollectorRegistry()
    for obj in objs.values():
        registry.register(obj)
    types: dict[str, str] = {}
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
    return types


def test_ownership_covers_the_contract() -> None:
    assert set().union(*OWNED.values()) == set(CONTRACT_METRICS)
    assert used_metrics() <= set(CONTRACT_METRICS)


@pytest.mark.parametrize("service", [*HTTP_SERVICES, "tiktok-connector"])
def test_service_exposes_the_metrics_rules_and_dashboard_use(service: str) -> None:
    shared = _import(SHARED_MODULE)
    own_modules, module_name = _service_metric_modules(SERVICE_PACKAGES[service])
    modules = [m for m in (shared, *own_modules) if m is not None]
    assert modules, f"neither {SHARED_MODULE} nor {module_name} exists"
    objs = _metric_objects(modules)
    exposed = _exposition(objs)
    required = OWNED[service] & used_metrics()
    missing = sorted(m for m in required if m not in exposed)
    assert not missing, (
        f"{service} does not expose {missing} (modules: {[m.__name__ for m in modules]})"
    )
    problems: list[Any] = []
    for name in sorted(OWNED[service] & set(objs)):
        contract = CONTRACT_METRICS[name]
        if exposed.get(name) != contract.type:
            problems.append(f"{name}: type {exposed.get(name)} != {contract.type}")
        labels = set(objs[name]._labelnames)
        if labels != contract.labels:
            problems.append(f"{name}: labels {sorted(labels)} != {sorted(contract.labels)}")
    assert not problems, problems
