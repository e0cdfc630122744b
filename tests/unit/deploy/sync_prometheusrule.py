"""Render deploy/k8s/base/monitoring/prometheusrule.yaml from deploy/prometheus/alerts.yml.

    uv run python tests/unit/deploy/sync_prometheusrule.py --write

test_deploy_prometheus.py fails when the committed PrometheusRule differs from this rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
ALERTS = REPO_ROOT / "deploy/prometheus/alerts.yml"
PROMETHEUS_RULE = REPO_ROOT / "deploy/k8s/base/monitoring/prometheusrule.yaml"
HEADER = (
    "# GENERATED from deploy/prometheus/alerts.yml - do not edit by hand.\n"
    "# tests/unit/deploy/test_deploy_prometheus.py fails when the two differ; regenerate with\n"
    "#   uv run python tests/unit/deploy/sync_prometheusrule.py --write\n"
)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def render() -> str:
    rules: dict[str, Any] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "orderlens",
            "labels": {
                "app.kubernetes.io/part-of": "orderlens",
                "release": "kube-prometheus-stack",
            },
        },
        "spec": {"groups": rules["groups"]},
    }
    return HEADER + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1000)


def main(argv: list[str]) -> int:
    text = render()
    if "--write" in argv:
        PROMETHEUS_RULE.write_text(text, encoding="utf-8")
        return 0
    if PROMETHEUS_RULE.read_text(encoding="utf-8") != text:
        print(f"{PROMETHEUS_RULE} is stale; run with --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
