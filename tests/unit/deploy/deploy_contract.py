"""Shared facts and helpers for the deploy tests (tests/unit/deploy/test_deploy_*.py).

The facts below are the contract between the services and the deployment: service names, ports,
packages, the environment variables the services read, and the Prometheus metric names and labels
the services expose. The deploy files are checked against them; the services are checked against
the metric contract in test_deploy_metrics_contract.py.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")


# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------
# The one Dockerfile of every orderlens service, built with --build-arg SERVICE=<dir>.
SERVICE_DOCKERFILE = "deploy/docker/Dockerfile"


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    dockerfile: str
    package: str
    package_dir: str
    script: str
    consumer_group: str | None = None
    topics_consumed: tuple[str, ...] = ()

    @property
    def build_args(self) -> dict[str, str]:
        """The build arguments docker-compose passes for this service's image."""
        if self.dockerfile != SERVICE_DOCKERFILE:
            return {}
        return {"SERVICE": self.package_dir.removeprefix("services/"), "HTTP_PORT": str(self.port)}


SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service(
            "order-ingest",
            8081,
            SERVICE_DOCKERFILE,
            "orderlens-order-ingest",
            "services/order-ingest",
            "orderlens-order-ingest",
            "orderlens-order-ingest",
            ("TOPIC_ORDERS_CREATED", "TOPIC_STATUS_CHANGED"),
        ),
        Service(
            "status-tracker",
            8082,
            SERVICE_DOCKERFILE,
            "orderlens-status-tracker",
            "services/status-tracker",
            "orderlens-status-tracker",
            "orderlens-status-tracker",
        ),
        Service(
            "query-api",
            8000,
            SERVICE_DOCKERFILE,
            "orderlens-query-api",
            "services/query-api",
            "orderlens-query-api",
        ),
        Service(
            "exporter",
            8083,
            SERVICE_DOCKERFILE,
            "orderlens-exporter",
            "services/exporter",
            "orderlens-exporter",
            "orderlens-exporter",
            ("TOPIC_EXPORT_REQUESTED",),
        ),
        Service(
            "console",
            8084,
            SERVICE_DOCKERFILE,
            "orderlens-console",
            "services/console",
            "orderlens-console",
        ),
        Service(
            "tiktok-connector",
            8085,
            SERVICE_DOCKERFILE,
            "orderlens-tiktok-connector",
            "services/tiktok-connector",
            "orderlens-tiktok-connector",
            "orderlens-tiktok-connector",
            ("TOPIC_TIKTOK_NOTIFICATIONS", "TOPIC_STATUS_CHANGED"),
        ),
        Service(
            "notifier",
            8086,
            SERVICE_DOCKERFILE,
            "orderlens-notifier",
            "services/notifier",
            "orderlens-notifier",
            "orderlens-notifier",
            ("TOPIC_ORDERS_CREATED", "TOPIC_STATUS_CHANGED", "TOPIC_EXPORT_COMPLETED"),
        ),
        Service(
            "webhook-dispatcher",
            8087,
            SERVICE_DOCKERFILE,
            "orderlens-webhook-dispatcher",
            "services/webhook-dispatcher",
            "orderlens-webhook-dispatcher",
            "orderlens-webhook-dispatcher",
            ("TOPIC_ORDERS_CREATED", "TOPIC_STATUS_CHANGED"),
        ),
        Service(
            "carrier-simulator",
            8090,
            "deploy/docker/carrier-simulator.Dockerfile",
            "orderlens-devtools",
            "tools",
            "orderlens",
        ),
    )
}
ORDERLENS_SERVICES = (
    "order-ingest",
    "status-tracker",
    "query-api",
    "exporter",
    "tiktok-connector",
    "notifier",
    "webhook-dispatcher",
)
# orderlens services that use neither Kafka nor MongoDB: the console is a client of query-api.
WEB_SERVICES = ("console",)
# Every orderlens service with its /healthz, /readyz and /metrics on its HTTP port.
HTTP_SERVICES = (*ORDERLENS_SERVICES, *WEB_SERVICES)

TOPIC_DEFAULTS = {
    "TOPIC_ORDERS_CREATED": "orders.created",
    "TOPIC_STATUS_CHANGED": "orders.status-changed",
    "TOPIC_EXPORT_REQUESTED": "orders.export-requested",
    "TOPIC_EXPORT_COMPLETED": "orders.export-completed",
    "TOPIC_DEAD_LETTER": "orders.dead-letter",
}
# Topics of one service only: the connector's verified webhooks (docs/decisions/0093).
SERVICE_TOPICS = {"TOPIC_TIKTOK_NOTIFICATIONS": "tiktok.notifications"}

# Environment variables the services read (pydantic-settings, no prefix).
COMMON_ENV = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "MONGODB_URI",
    "MONGODB_DATABASE",
    "HTTP_PORT",
    "LOG_LEVEL",
    *TOPIC_DEFAULTS,
}
SERVICE_ENV: dict[str, set[str]] = {
    "order-ingest": set(COMMON_ENV),
    "status-tracker": COMMON_ENV
    | {
        "CARRIER_PROVIDER",
        "CARRIER_SIMULATOR_URL",
        "SEVENTEENTRACK_API_KEY",
        "AFTERSHIP_API_KEY",
        "REPLICA_ID",  # the pod name, for the tracking-job leases
    },
    "query-api": COMMON_ENV
    | {"JWT_SECRET", "JWT_JWKS_URL", "JWT_JWKS_FILE", "JWT_ALGORITHMS", "EXPORT_DIR"}
    | {"JWT_AUDIENCE", "JWT_ISSUER", "API_DOCS", "METRICS_TOKEN", "CURSOR_SECRET"}
    | {"MAIL_OUTBOX_DIR", "JWT_TRUSTED_ISSUERS", "CONSOLE_PUBLIC_URL", "BUYER_LINK_SECRET"}
    | {"WEBHOOK_SECRET_KEYS", "WEBHOOK_ALLOW_HTTP", "WEBHOOK_ALLOW_INTERNAL"},
    "exporter": COMMON_ENV
    | {"EXPORT_DIR", "EXPORT_MAX_RUNNING_PER_SHOP", "EXPORT_RETENTION_HOURS"},
    "console": {
        "HTTP_PORT",
        "LOG_LEVEL",
        "CONSOLE_QUERY_API_URL",
        "CONSOLE_PUBLIC_URL",
        "CONSOLE_SESSION_SECRET",
        "CONSOLE_API_SIGNING_KEY",
        "CONSOLE_API_PREVIOUS_PUBLIC_KEY",
        "CONSOLE_API_TOKEN_ISSUER",
        "CONSOLE_API_TOKEN_AUDIENCE",
        "CONSOLE_TIME_ZONE",
        "CONSOLE_DEV_SIGN_IN",
        "CONSOLE_DEV_SHOPS",
        "CONSOLE_OIDC_ISSUER",
        "CONSOLE_OIDC_CLIENT_ID",
        "CONSOLE_OIDC_CLIENT_SECRET",
        "CONSOLE_OIDC_SCOPES",
        "CONSOLE_OIDC_ROLE_CLAIM",
        "CONSOLE_OIDC_SHOPS_CLAIM",
        "CONSOLE_OIDC_SUBJECT_CLAIM",
    },
    "tiktok-connector": COMMON_ENV
    | {
        "TOPIC_TIKTOK_NOTIFICATIONS",
        "TIKTOK_APP_KEY",
        "TIKTOK_APP_SECRET",
        "TIKTOK_API_BASE_URL",
        "TIKTOK_AUTH_BASE_URL",
        "TIKTOK_AUTHORIZE_URL",
        "OAUTH_REDIRECT_URL",
        "TIKTOK_TOKEN_KEYS",
    },
    "notifier": COMMON_ENV | {"MAIL_OUTBOX_DIR", "BUYER_PAGES_URL"},
    "webhook-dispatcher": COMMON_ENV
    | {
        "REPLICA_ID",  # the pod name, for the subscription leases
        "WEBHOOK_SECRET_KEYS",
        "WEBHOOK_ALLOW_HTTP",
        "WEBHOOK_ALLOW_INTERNAL",
        "WEBHOOK_RETRY_MAX_AGE_SECONDS",
    },
    "carrier-simulator": {"HTTP_PORT", "LOG_LEVEL"},
}
ALL_ENV = set().union(*SERVICE_ENV.values())
# Values that hold credentials: never in a ConfigMap, only in a Secret.
SECRET_ENV = {
    "MONGODB_URI",
    "JWT_SECRET",
    "SEVENTEENTRACK_API_KEY",
    "AFTERSHIP_API_KEY",
    "CONSOLE_SESSION_SECRET",
    "CONSOLE_API_SIGNING_KEY",
    "CONSOLE_OIDC_CLIENT_SECRET",
    "METRICS_TOKEN",
    "CURSOR_SECRET",
    "TIKTOK_APP_KEY",
    "TIKTOK_APP_SECRET",
    "TIKTOK_TOKEN_KEYS",
    "BUYER_LINK_SECRET",
    "WEBHOOK_SECRET_KEYS",
}
EXPORT_DIR = "/var/lib/orderlens/exports"
DRAIN_SECONDS = 30  # consumers' graceful drain is bounded at 30 s


# ---------------------------------------------------------------------------------------------
# Metric contract
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    type: str  # counter | gauge | histogram
    labels: frozenset[str] = field(default_factory=frozenset)


def _m(type_: str, *labels: str) -> Metric:
    return Metric(type_, frozenset(labels))


CONTRACT_METRICS: dict[str, Metric] = {
    "orderlens_messages_consumed_total": _m("counter", "service", "topic"),
    "orderlens_messages_applied_total": _m("counter", "service", "topic"),
    "orderlens_messages_ignored_total": _m("counter", "service", "topic", "reason"),
    "orderlens_dead_letters_total": _m("counter", "service", "topic"),
    "orderlens_batch_duration_seconds": _m("histogram", "service", "topic"),
    "orderlens_consumer_lag": _m("gauge", "service", "topic", "partition"),
    "orderlens_last_processed_timestamp_seconds": _m("gauge", "service", "topic"),
    "orderlens_http_requests_total": _m("counter", "service", "method", "route", "status"),
    "orderlens_http_request_duration_seconds": _m("histogram", "service", "method", "route"),
    "orderlens_exports_total": _m("counter", "status"),
    "orderlens_export_duration_seconds": _m("histogram", "format"),
    "orderlens_exports_running": _m("gauge"),
    "orderlens_export_rows_total": _m("counter", "format"),
    "orderlens_tracker_polls_total": _m("counter", "provider", "outcome"),
    "orderlens_tracker_rate_limited_total": _m("counter", "provider"),
    "orderlens_tracker_breaker_state": _m("gauge", "provider"),
    "orderlens_tracker_jobs_due": _m("gauge"),
    "orderlens_tracker_jobs_overdue": _m("gauge"),
    "orderlens_tracker_poll_duration_seconds": _m("histogram", "provider"),
    "orderlens_tiktok_webhooks_total": _m("counter", "result"),
    "orderlens_tiktok_api_calls_total": _m("counter", "endpoint", "result"),
    "orderlens_tiktok_api_call_duration_seconds": _m("histogram", "endpoint"),
    "orderlens_tiktok_throttles_total": _m("counter", "endpoint"),
    "orderlens_tiktok_token_expiry_timestamp_seconds": _m("gauge", "shop_id"),
    "orderlens_tiktok_backfill_lag_seconds": _m("gauge", "shop_id"),
    "orderlens_tiktok_shop_connected": _m("gauge", "shop_id"),
    "orderlens_tiktok_actions_total": _m("counter", "result"),
    "orderlens_notifier_inbox_items_total": _m("counter", "kind"),
    "orderlens_notifier_mails_total": _m("counter", "kind", "outcome"),
    "orderlens_webhook_deliveries_total": _m("counter", "result"),
    "orderlens_webhook_enqueued_total": _m("counter"),
    "orderlens_webhook_attempt_duration_seconds": _m("histogram"),
    "orderlens_webhook_delivery_latency_seconds": _m("histogram"),
}
# Labels Prometheus attaches to every scraped series (target labels), usable in any query.
TARGET_LABELS = frozenset({"job", "instance", "namespace", "pod", "container", "endpoint"})
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True)
class SeriesRef:
    """A series name used in PromQL, resolved to its contract metric."""

    series: str
    metric: str | None  # contract metric name, None if not in the contract
    labels: frozenset[str]  # label names usable on this series


def resolve_series(series: str) -> SeriesRef:
    if series in CONTRACT_METRICS and CONTRACT_METRICS[series].type != "histogram":
        m = CONTRACT_METRICS[series]
        return SeriesRef(series, series, m.labels | TARGET_LABELS)
    for suffix in HISTOGRAM_SUFFIXES:
        base = series.removesuffix(suffix)
        if base != series and CONTRACT_METRICS.get(base, Metric("")).type == "histogram":
            extra = {"le"} if suffix == "_bucket" else set()
            return SeriesRef(series, base, CONTRACT_METRICS[base].labels | TARGET_LABELS | extra)
    return SeriesRef(series, None, frozenset())


@dataclass
class QueryFacts:
    series: list[SeriesRef] = field(default_factory=list)
    matcher_labels: list[tuple[str, str]] = field(default_factory=list)  # (series, label)
    grouping_labels: set[str] = field(default_factory=set)  # by/without/on/ignoring labels
    nameless_selectors: int = 0


def query_facts(expr: str) -> QueryFacts:
    """Parse a PromQL expression (raises ValueError when it does not parse) and collect facts."""
    tree = promql_parser.parse(expr)
    facts = QueryFacts()

    def visit(node: Any, *_: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name
            matchers = node.matchers.matchers if node.matchers is not None else []
            if not name:
                names = [m.value for m in matchers if m.name == "__name__"]
                name = names[0] if names else None
            if not name:
                facts.nameless_selectors += 1
                return
            facts.series.append(resolve_series(name))
            for m in matchers:
                if m.name != "__name__":
                    facts.matcher_labels.append((name, m.name))
        elif isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
            facts.grouping_labels.update(node.modifier.labels)
        elif isinstance(node, promql_parser.BinaryExpr) and node.modifier is not None:
            matching = node.modifier.matching
            if matching is not None:
                facts.grouping_labels.update(matching.labels)
            facts.grouping_labels.update(node.modifier.group_labels or [])

    promql_parser.walk(tree, visit)
    return facts


def contract_problems(expr: str) -> list[str]:
    """Everything in a PromQL expression that is not backed by the metric contract."""
    facts = query_facts(expr)
    problems = []
    if facts.nameless_selectors:
        problems.append("selector without a metric name")
    known = {s.series: s for s in facts.series}
    for s in facts.series:
        if s.metric is None:
            problems.append(f"{s.series} is not a contract metric")
    for series, label in facts.matcher_labels:
        ref = known[series]
        if ref.metric is not None and label not in ref.labels:
            problems.append(f"{series} has no label {label!r}")
    usable = set().union(*(s.labels for s in facts.series)) if facts.series else set()
    for label in sorted(facts.grouping_labels - usable):
        problems.append(f"grouping label {label!r} is not a label of any metric in the query")
    if not facts.series:
        problems.append("query uses no metric")
    return problems


def metrics_in(expr: str) -> set[str]:
    return {s.metric for s in query_facts(expr).series if s.metric}


GRAFANA_VARIABLE = re.compile(r"\$\{?(__\w+|\w+)(?::\w+)?\}?")
GRAFANA_INTERVALS = {"__rate_interval", "__interval", "__range"}


def grafana_to_promql(expr: str) -> str:
    """Substitute Grafana variables so that a panel query becomes plain PromQL."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in GRAFANA_INTERVALS:
            return "5m"
        if name in {"__range_s", "__interval_ms"}:
            return "300"
        return "grafana_variable"

    return GRAFANA_VARIABLE.sub(repl, expr)


# ---------------------------------------------------------------------------------------------
# YAML / files
# ---------------------------------------------------------------------------------------------
def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_docs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def rel(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


# ---------------------------------------------------------------------------------------------
# Dockerfiles and .dockerignore
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


def parse_dockerfile(path: Path) -> list[Instruction]:
    """Instructions with line continuations joined and comments dropped."""
    instructions: list[Instruction] = []
    buffer = ""
    start = 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        keyword, _, args = buffer.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = ""
    return instructions


def split_args(args: str) -> tuple[dict[str, str], list[str]]:
    """Leading `--flag[=value]` options, then the words (exec/JSON form or shell form)."""
    rest = args.strip()
    flags: dict[str, str] = {}
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        key, _, value = word[2:].partition("=")
        flags[key] = value
        rest = rest.strip()
    words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    return flags, words


def resolve_args(text: str, args: dict[str, str]) -> str:
    return re.sub(
        r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text
    )


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction]


def dockerfile_stages(path: Path, build_args: dict[str, str] | None = None) -> list[Stage]:
    """The stages, with `${ARG}` references resolved as BuildKit would for these build
    arguments: global ARGs feed FROM, and a stage sees an ARG once it declares it."""
    given = dict(build_args or {})
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    scope: dict[str, str] = {}
    for ins in parse_dockerfile(path):
        if ins.keyword == "ARG":
            key, has_default, value = ins.args.partition("=")
            key = key.strip()
            default = value.strip().strip('"') if has_default else global_args.get(key, "")
            resolved = given.get(key, default)
            if not stages:
                global_args[key] = resolved
            else:
                scope[key] = resolved
                stages[-1].instructions.append(ins)
        elif ins.keyword == "FROM":
            _, words = split_args(ins.args)
            base = resolve_args(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name, []))
            scope = {}
        elif stages:
            args = resolve_args(ins.args, scope)
            stages[-1].instructions.append(Instruction(ins.keyword, args, ins.line))
    return stages


class DockerIgnore:
    """The .dockerignore matching rules of BuildKit (patternmatcher): the last matching pattern
    wins, `!` re-includes, a pattern matching a directory matches everything below it, `**`
    matches any number of directories."""

    def __init__(self, path: Path) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        if not path.exists():
            return
        for raw in path.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclude = not line.startswith("!")
            pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
            self.rules.append((exclude, re.compile(self._regex(pattern))))

    @staticmethod
    def _regex(pattern: str) -> str:
        out = ""
        i = 0
        while i < len(pattern):
            c = pattern[i]
            if pattern.startswith("**/", i):
                out += "(?:.*/)?"
                i += 3
                continue
            if pattern.startswith("**", i):
                out += ".*"
                i += 2
                continue
            if c == "*":
                out += "[^/]*"
            elif c == "?":
                out += "[^/]"
            elif c == "[":
                end = pattern.find("]", i)
                out += pattern[i : end + 1] if end > i else re.escape(c)
                i = end if end > i else i
            else:
                out += re.escape(c)
            i += 1
        return f"^{out}$"

    def excluded(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for exclude, regex in self.rules:
            if any(regex.match(c) for c in candidates):
                result = exclude
        return result


def context_files(root: Path, source: str) -> list[str]:
    """Repository-relative files a COPY source names (a file, a directory, or a glob)."""
    matches = sorted(root.glob(source)) if any(ch in source for ch in "*?[") else [root / source]
    files: list[str] = []
    for match in matches:
        if match.is_dir():
            files.extend(
                p.relative_to(root).as_posix()
                for p in sorted(match.rglob("*"))
                if p.is_file() and "__pycache__" not in p.parts
            )
        elif match.exists():
            files.append(match.relative_to(root).as_posix())
    return files


# ---------------------------------------------------------------------------------------------
# Kubernetes
# ---------------------------------------------------------------------------------------------
def kustomize_command() -> list[str] | None:
    """A kustomize renderer: `kustomize build`, else `kubectl kustomize` (embeds kustomize)."""
    candidates = [shutil.which("kustomize")]
    gopath = os.environ.get("GOPATH") or str(Path.home() / "go")
    candidates.append(str(Path(gopath) / "bin" / "kustomize"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return [candidate, "build"]
    kubectl = shutil.which("kubectl")
    if kubectl:
        return [kubectl, "kustomize"]
    return None


@functools.cache
def render_overlay(overlay: str) -> tuple[dict[str, Any], ...]:
    command = kustomize_command()
    assert command is not None
    result = subprocess.run(
        [*command, str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} {overlay} failed:\n{result.stderr}")
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def group_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


_DROP = {
    "description",
    "format",
    "default",
    "nullable",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-validations",
}


def openapi_to_jsonschema(node: Any) -> Any:
    """A CRD's structural openAPIV3Schema as JSON Schema. Objects with `properties` are closed
    (additionalProperties: false) unless marked x-kubernetes-preserve-unknown-fields, mirroring
    the API server's strict field validation."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "properties":
            out[key] = {k: openapi_to_jsonschema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = openapi_to_jsonschema(value)
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = [openapi_to_jsonschema(v) for v in value]
        elif key == "not":
            out[key] = openapi_to_jsonschema(value)
        else:
            out[key] = value
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> JSON Schema, from deploy/k8s/crds/*.yaml."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((K8S / "crds").glob("*.yaml")):
        for crd in load_yaml_docs(path):
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schema = openapi_to_jsonschema(version["schema"]["openAPIV3Schema"])
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def iter_manifest_files() -> Iterator[Path]:
    """Every YAML file under deploy/k8s/base and deploy/k8s/overlays."""
    for sub in ("base", "overlays"):
        yield from sorted((K8S / sub).rglob("*.yaml"))


def label_selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def trusted_issuers(value: str) -> tuple[Any, ...]:
    """JWT_TRUSTED_ISSUERS read exactly as query-api reads it from its environment."""
    from unittest import mock

    from orderlens_query.settings import QueryApiSettings

    with mock.patch.dict(os.environ, {"JWT_TRUSTED_ISSUERS": value}):
        return QueryApiSettings().jwt_trusted_issuers
