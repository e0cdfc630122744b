"""The Grafana dashboard and its provisioning."""

from __future__ import annotations

import re
from typing import Any

import promql_parser
import pytest
from deploy_contract import (
    CONTRACT_METRICS,
    DEPLOY,
    contract_problems,
    grafana_to_promql,
    load_json,
    load_yaml,
    metrics_in,
)

pytestmark = pytest.mark.unit

DASHBOARD = DEPLOY / "grafana/dashboards/orderlens.json"
PROVISIONING = DEPLOY / "grafana/provisioning"


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels") or [])  # collapsed rows keep their panels inside
    return out


DASHBOARD_JSON: dict[str, Any] = load_json(DASHBOARD)
PANELS = _panels(DASHBOARD_JSON)
QUERIES = [
    (p["title"], t["refId"], t["expr"])
    for p in PANELS
    if p["type"] != "row"
    for t in p.get("targets", [])
]


def test_dashboard_identity() -> None:
    d = DASHBOARD_JSON
    assert d["uid"] == "orderlens-overview"
    assert d["title"]
    assert isinstance(d["schemaVersion"], int)
    assert d["schemaVersion"] >= 36
    assert "id" not in d or d["id"] is None, "a provisioned dashboard must not pin a database id"


def test_panel_ids_are_unique_and_layout_is_sane() -> None:
    ids = [p["id"] for p in PANELS]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    cells: dict[tuple[int, int], str] = {}
    for p in DASHBOARD_JSON["panels"]:
        g = p["gridPos"]
        assert g["x"] >= 0
        assert g["x"] + g["w"] <= 24, f"{p['title']} overflows the 24 columns"
        assert g["h"] > 0
        assert g["w"] > 0
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_every_panel_queries_prometheus() -> None:
    for p in PANELS:
        if p["type"] == "row":
            continue
        assert p["datasource"]["type"] == "prometheus", p["title"]
        assert p["datasource"]["uid"] == "${datasource}", p["title"]
        assert p.get("targets"), f"{p['title']} has no query"
        ref_ids = [t["refId"] for t in p["targets"]]
        assert len(ref_ids) == len(set(ref_ids))


@pytest.mark.parametrize(("panel", "ref_id", "expr"), QUERIES, ids=lambda v: str(v)[:60])
def test_panel_query_parses_and_uses_only_contract_metrics(
    panel: str, ref_id: str, expr: str
) -> None:
    promql = grafana_to_promql(expr)
    try:
        promql_parser.parse(promql)
    except ValueError as exc:
        pytest.fail(f"{panel}/{ref_id}: {exc}\n{promql}")
    problems = contract_problems(promql)
    assert not problems, f"{panel}/{ref_id}: {problems}"


def test_template_variables_use_contract_metrics() -> None:
    variables = {v["name"]: v for v in DASHBOARD_JSON["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for v in variables.values():
        if v["type"] != "query":
            continue
        query = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        assert match, f"variable {v['name']}: unsupported query {query}"
        metric, label = match.groups()
        assert metric in CONTRACT_METRICS
        assert label in CONTRACT_METRICS[metric].labels
    used = {m for _, _, e in QUERIES for m in re.findall(r"\$\{?(\w+)", e)}
    undefined = {u for u in used if not u.startswith("__")} - set(variables)
    assert not undefined, f"queries use undefined variables {undefined}"


def test_dashboard_shows_what_operations_needs() -> None:
    used: set[str] = set()
    for _, _, expr in QUERIES:
        used |= metrics_in(grafana_to_promql(expr))
    required = {
        # ingest rate and lag per partition
        "orderlens_messages_consumed_total",
        "orderlens_consumer_lag",
        # dead letters
        "orderlens_dead_letters_total",
        # API request rate and latency percentiles by route
        "orderlens_http_requests_total",
        "orderlens_http_request_duration_seconds",
        # export durations and queue
        "orderlens_export_duration_seconds",
        "orderlens_exports_running",
        # tracker polls, 429s and breaker state
        "orderlens_tracker_polls_total",
        "orderlens_tracker_rate_limited_total",
        "orderlens_tracker_breaker_state",
    }
    assert required <= used, f"missing: {sorted(required - used)}"
    lag = [e for _, _, e in QUERIES if "orderlens_consumer_lag" in e and "partition" in e]
    assert lag, "lag must be shown per partition"
    latency = [e for _, _, e in QUERIES if "http_request_duration_seconds_bucket" in e]
    assert {re.search(r"histogram_quantile\(([\d.]+)", e).group(1) for e in latency} >= {  # type: ignore[union-attr]
        "0.5",
        "0.95",
        "0.99",
    }
    assert all("route" in e for e in latency), "latency percentiles are by route"


def test_provisioning_points_at_the_dashboard_and_prometheus() -> None:
    datasources = load_yaml(PROVISIONING / "datasources/prometheus.yml")
    (ds,) = datasources["datasources"]
    assert ds["type"] == "prometheus"
    assert ds["url"] == "http://prometheus:9090"
    providers = load_yaml(PROVISIONING / "dashboards/orderlens.yml")
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    # docker compose mounts deploy/grafana/dashboards at /etc/grafana/dashboards
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
