"""Prometheus scrape configuration and alert rules.

Every rule expression is parsed by promql-parser (a real PromQL parser, the Rust `promql-parser`
crate used by GreptimeDB, with Python bindings) and may only name contract metrics and labels.
"""

from __future__ import annotations

import re
from typing import Any

import promql_parser
import pytest
import sync_prometheusrule
import yaml
from deploy_contract import (
    DEPLOY,
    HTTP_SERVICES,
    REPO_ROOT,
    SERVICES,
    contract_problems,
    load_yaml,
    metrics_in,
    query_facts,
)

pytestmark = pytest.mark.unit

PROMETHEUS_YML = DEPLOY / "prometheus/prometheus.yml"
ALERTS_YML = DEPLOY / "prometheus/alerts.yml"
SEVERITIES = {"info", "warning", "critical"}
DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")


def _rules() -> list[tuple[str, dict[str, Any]]]:
    data = load_yaml(ALERTS_YML)
    return [(g["name"], r) for g in data["groups"] for r in g["rules"]]


RULES = _rules()


def _rule_id(value: Any) -> str:
    if isinstance(value, tuple):
        return str(value[1].get("alert") or value[1].get("record"))
    return str(value)


# ---------------------------------------------------------------------------------------------
# prometheus.yml
# ---------------------------------------------------------------------------------------------
def test_prometheus_scrapes_every_service() -> None:
    config = load_yaml(PROMETHEUS_YML)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name in HTTP_SERVICES:
        assert name in jobs, f"no scrape job for {name}"
        job = jobs[name]
        assert job.get("metrics_path", "/metrics") == "/metrics"
        targets = [t for sc in job["static_configs"] for t in sc["targets"]]
        assert targets == [f"{name}:{SERVICES[name].port}"], f"{name}: {targets}"


def test_prometheus_loads_the_alert_rules() -> None:
    config = load_yaml(PROMETHEUS_YML)
    # docker compose mounts deploy/prometheus at /etc/prometheus.
    files = [f.replace("/etc/prometheus/", "") for f in config["rule_files"]]
    assert files == ["alerts.yml"]
    for f in files:
        assert (DEPLOY / "prometheus" / f).is_file()
    for key in ("scrape_interval", "evaluation_interval"):
        assert DURATION.match(config["global"][key])


# ---------------------------------------------------------------------------------------------
# alerts.yml
# ---------------------------------------------------------------------------------------------
def test_rule_file_structure() -> None:
    data = load_yaml(ALERTS_YML)
    assert set(data) == {"groups"}
    names = [g["name"] for g in data["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    alerts = [r["alert"] for _, r in RULES]
    assert len(alerts) == len(set(alerts)), "alert names must be unique"
    for group in data["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit", "query_offset", "labels"}
        assert group["rules"], f"group {group['name']} is empty"


@pytest.mark.parametrize("rule", RULES, ids=_rule_id)
def test_rule_is_well_formed(rule: tuple[str, dict[str, Any]]) -> None:
    _, r = rule
    assert set(r) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", r["alert"])
    if "for" in r:
        assert DURATION.match(r["for"]), r["for"]
        promql_parser.parse_duration(r["for"])
    assert r["labels"]["severity"] in SEVERITIES
    annotations = r["annotations"]
    assert {"summary", "description", "runbook_url"} <= set(annotations)
    for text in annotations.values():
        assert text.count("{{") == text.count("}}"), f"unbalanced template in {text!r}"


@pytest.mark.parametrize("rule", RULES, ids=_rule_id)
def test_rule_expression_parses_and_uses_only_contract_metrics(
    rule: tuple[str, dict[str, Any]],
) -> None:
    _, r = rule
    try:
        promql_parser.parse(r["expr"])
    except ValueError as exc:
        pytest.fail(f"{r['alert']}: {exc}\n{r['expr']}")
    problems = contract_problems(r["expr"])
    assert not problems, f"{r['alert']}: {problems}"


@pytest.mark.parametrize("rule", RULES, ids=_rule_id)
def test_annotation_labels_exist_on_the_result(rule: tuple[str, dict[str, Any]]) -> None:
    """`{{ $labels.x }}` must name a label the query can return."""
    _, r = rule
    facts = query_facts(r["expr"])
    usable = set().union(*(s.labels for s in facts.series))
    if facts.grouping_labels:
        usable &= facts.grouping_labels | {"le"}
    for text in r["annotations"].values():
        for label in re.findall(r"\$labels\.(\w+)", text):
            assert label in usable, f"{r['alert']}: $labels.{label} is not in the result"


def test_alerts_cover_the_operational_risks() -> None:
    by_metric: dict[str, set[str]] = {}
    for _, r in RULES:
        for metric in metrics_in(r["expr"]):
            by_metric.setdefault(metric, set()).add(r["alert"])
    alerts = {r["alert"] for _, r in RULES}
    assert "orderlens_consumer_lag" in by_metric, "lag growing"
    assert any("deriv" in r["expr"] for _, r in RULES if "LagGrowing" in r["alert"])
    assert "orderlens_dead_letters_total" in by_metric, "dead letters appearing"
    assert any('status=~"5.."' in r["expr"] for _, r in RULES), "HTTP error rate"
    assert "OrderlensTrackerStalled" in alerts, "stalled tracker"
    assert "orderlens_tracker_polls_total" in by_metric
    assert "orderlens_tracker_breaker_state" in by_metric


# ---------------------------------------------------------------------------------------------
# The Kubernetes PrometheusRule mirrors alerts.yml
# ---------------------------------------------------------------------------------------------
def test_prometheusrule_matches_alerts_yml() -> None:
    committed = load_yaml(sync_prometheusrule.PROMETHEUS_RULE)
    expected = yaml.safe_load(sync_prometheusrule.render())
    assert committed == expected, (
        f"{sync_prometheusrule.PROMETHEUS_RULE.relative_to(REPO_ROOT)} is stale: run "
        "`uv run python tests/unit/deploy/sync_prometheusrule.py --write`"
    )


def _github_anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@pytest.mark.parametrize("rule", RULES, ids=_rule_id)
def test_runbook_links_resolve(rule: tuple[str, dict[str, Any]]) -> None:
    _, r = rule
    path, _, anchor = r["annotations"]["runbook_url"].partition("#")
    doc = REPO_ROOT / path
    assert doc.is_file(), f"{r['alert']}: {path} does not exist"
    headings = [
        _github_anchor(line.lstrip("#"))
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    ]
    assert anchor in headings, f"{r['alert']}: no heading #{anchor} in {path}"
