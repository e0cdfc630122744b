"""Kubernetes manifests (deploy/k8s), validated offline.

- Rendering: the real kustomize (`kustomize build`, or `kubectl kustomize`, which embeds it). When
  neither is installed, the tests that need a rendering are skipped with that reason; the
  per-file checks below still run.
- Core objects: JSON schemas of the Kubernetes API from the `kubernetes-validate` package, in
  strict mode (unknown fields fail), for the oldest and the newest Kubernetes version we support.
- Custom resources (KEDA ScaledObject, ServiceMonitor, PrometheusRule, Strimzi KafkaTopic): the
  openAPIV3Schema of their CRDs, kept trimmed in deploy/k8s/crds, with `jsonschema`.
- Then the semantics a schema cannot see: references resolve, probes, drain time, autoscaling
  against partitions, topics against configuration, network policies against pods.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
from deploy_contract import (
    DRAIN_SECONDS,
    EXPORT_DIR,
    HTTP_SERVICES,
    K8S,
    ORDERLENS_SERVICES,
    OVERLAYS,
    SECRET_ENV,
    SERVICE_ENV,
    SERVICE_TOPICS,
    SERVICES,
    TOPIC_DEFAULTS,
    WEB_SERVICES,
    crd_schemas,
    iter_manifest_files,
    kustomize_command,
    label_selector_matches,
    load_yaml,
    load_yaml_docs,
    rel,
    render_overlay,
    trusted_issuers,
)

pytestmark = pytest.mark.unit

MIN_K8S = "1.30"
K8S_VERSIONS = (MIN_K8S, kubernetes_validate.latest_version())
NAMESPACES = {"dev": "orderlens-dev", "prod": "orderlens"}
EXTERNAL_SECRETS = {"prod": {"orderlens-secrets"}, "dev": set()}
CONSUMERS = ("order-ingest", "exporter", "status-tracker")
KEDA_SCALED = ("order-ingest", "exporter")
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}

# kubernetes-validate re-reads and re-parses its multi-megabyte schema files on every call; the
# files never change during a run, so memoise the loader (validation itself is unchanged).
kubernetes_validate.utils.schema_contents = functools.cache(
    kubernetes_validate.utils.schema_contents
)

needs_kustomize = pytest.mark.skipif(
    kustomize_command() is None,
    reason="neither `kustomize` nor `kubectl` is installed: cannot render the overlays "
    "(install one, e.g. `go install sigs.k8s.io/kustomize/kustomize/v5@latest`)",
)


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------
def validation_errors(obj: dict[str, Any], k8s_version: str) -> list[str]:
    """Schema errors of one object: CRD schema for custom resources, the Kubernetes API schema
    (strict) for everything else."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    schemas = crd_schemas()
    if key in schemas:
        validator = jsonschema.Draft202012Validator(schemas[key])
        return [
            f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        ]
    try:
        kubernetes_validate.validate(obj, k8s_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{where}: no schema for {key} (add its CRD schema to deploy/k8s/crds)"]
    except kubernetes_validate.ValidationError as e:
        return [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message}"]
    return []


def objects(rendered: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in rendered if o["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = pod_spec(workload)["containers"]
    assert len(containers) == 1, f"{workload['metadata']['name']}: one container expected"
    return containers[0]


def config_values(rendered: tuple[dict[str, Any], ...], workload: dict[str, Any]) -> dict[str, str]:
    """Environment a container gets from its ConfigMaps (envFrom) and literal env values."""
    maps = objects(rendered, "ConfigMap")
    values: dict[str, str] = {}
    c = container(workload)
    for source in c.get("envFrom") or []:
        ref = source.get("configMapRef")
        if ref:
            values.update(maps[ref["name"]].get("data") or {})
    for env in c.get("env") or []:
        if "value" in env:
            values[env["name"]] = env["value"]
    return values


def shared_config(rendered: tuple[dict[str, Any], ...]) -> dict[str, str]:
    return config_values(rendered, objects(rendered, "Deployment")["order-ingest"])


# ---------------------------------------------------------------------------------------------
# Repository layout (no rendering needed)
# ---------------------------------------------------------------------------------------------
def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in (K8S).rglob("kustomization.yaml"))


def test_kustomizations_reference_existing_files_and_nothing_is_orphaned() -> None:
    referenced: set[Path] = set()
    for directory in kustomization_dirs():
        k = load_yaml(directory / "kustomization.yaml")
        assert k["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
        assert k["kind"] == "Kustomization"
        for resource in k.get("resources", []):
            target = (directory / resource).resolve()
            assert target.exists(), f"{rel(directory)}: resource {resource} does not exist"
            if target.is_dir():
                assert (target / "kustomization.yaml").is_file()
            referenced.add(target)
        for patch in k.get("patches", []):
            if "path" in patch:
                target = (directory / patch["path"]).resolve()
                assert target.is_file(), f"{rel(directory)}: patch {patch['path']} is missing"
                referenced.add(target)
    for path in iter_manifest_files():
        if path.name == "kustomization.yaml":
            continue
        assert path.resolve() in referenced, f"{rel(path)} is not used by any kustomization"
    assert {d.name for d in (K8S / "overlays").iterdir()} == set(OVERLAYS)


def _resource_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every object in the files the kustomizations list as resources (patches excluded)."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for directory in kustomization_dirs():
        k = load_yaml(directory / "kustomization.yaml")
        for resource in k.get("resources", []):
            path = directory / resource
            if path.is_file():
                docs.extend((f"{rel(path)}#{i}", d) for i, d in enumerate(load_yaml_docs(path)))
    return docs


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
def test_every_manifest_file_is_schema_valid(k8s_version: str) -> None:
    """Per-file validation: runs even where kustomize is not installed."""
    errors = []
    for where, doc in _resource_documents():
        errors += [f"{where}: {e}" for e in validation_errors(doc, k8s_version)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
def test_crd_files_are_valid_crds(k8s_version: str) -> None:
    kinds = set()
    for path in sorted((K8S / "crds").glob("*.yaml")):
        for crd in load_yaml_docs(path):
            kubernetes_validate.validate(crd, k8s_version, strict=True)
            for version in crd["spec"]["versions"]:
                jsonschema.Draft202012Validator.check_schema(
                    crd_schemas()[
                        (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                    ]
                )
            kinds.add(crd["spec"]["names"]["kind"])
    assert kinds == {"ScaledObject", "ServiceMonitor", "PrometheusRule", "KafkaTopic"}


def test_validation_rejects_broken_objects() -> None:
    """The validators above really bite: unknown fields, wrong types, missing required fields."""
    deployment = next(d for _, d in _resource_documents() if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    container(broken)["livenessProbe"]["httpGett"] = {"path": "/healthz"}
    assert validation_errors(broken, MIN_K8S)
    broken = copy.deepcopy(deployment)
    container(broken)["resources"]["limits"]["cpu"] = {"cores": 1}
    assert validation_errors(broken, MIN_K8S)

    scaled = next(d for _, d in _resource_documents() if d["kind"] == "ScaledObject")
    broken = copy.deepcopy(scaled)
    broken["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 500  # must be a string
    assert validation_errors(broken, MIN_K8S)
    broken = copy.deepcopy(scaled)
    broken["spec"]["maxReplicas"] = 3  # HPA field name, not KEDA's
    assert validation_errors(broken, MIN_K8S)
    broken = copy.deepcopy(scaled)
    del broken["spec"]["scaleTargetRef"]
    assert validation_errors(broken, MIN_K8S)

    topic = next(d for _, d in _resource_documents() if d["kind"] == "KafkaTopic")
    broken = copy.deepcopy(topic)
    broken["spec"]["partitions"] = 0
    assert validation_errors(broken, MIN_K8S)
    broken = copy.deepcopy(topic)
    broken["spec"]["config"]["any.topic.config"] = "kept"  # config is free-form
    assert not validation_errors(broken, MIN_K8S)

    monitor = next(d for _, d in _resource_documents() if d["kind"] == "ServiceMonitor")
    broken = copy.deepcopy(monitor)
    broken["spec"]["endpoints"][0]["interval"] = "15 seconds"
    assert validation_errors(broken, MIN_K8S)

    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert validation_errors(unknown, MIN_K8S)


# ---------------------------------------------------------------------------------------------
# Rendered overlays
# ---------------------------------------------------------------------------------------------
@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    if kustomize_command() is None:
        pytest.skip("neither `kustomize` nor `kubectl` is installed: cannot render the overlays")
    return render_overlay(overlay)


@needs_kustomize
@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
def test_rendered_overlay_is_schema_valid(
    rendered: tuple[dict[str, Any], ...], k8s_version: str
) -> None:
    errors = [e for obj in rendered for e in validation_errors(obj, k8s_version)]
    assert not errors, "\n".join(errors)


@needs_kustomize
def test_rendered_overlay_has_everything(
    rendered: tuple[dict[str, Any], ...], overlay: str
) -> None:
    kinds: dict[str, set[str]] = {}
    for obj in rendered:
        kinds.setdefault(obj["kind"], set()).add(obj["metadata"]["name"])
    for name in HTTP_SERVICES:
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor"):
            assert name in kinds.get(kind, set()), f"{overlay}: no {kind} {name}"
    assert kinds["HorizontalPodAutoscaler"] == {"query-api"}
    assert kinds["ScaledObject"] == set(KEDA_SCALED)
    assert len(kinds["KafkaTopic"]) == len(TOPIC_DEFAULTS) + len(SERVICE_TOPICS)
    assert "orderlens-exports" in kinds["PersistentVolumeClaim"]
    assert kinds["PrometheusRule"] == {"orderlens"}
    assert "orderlens-default-deny" in kinds["NetworkPolicy"]
    assert kinds["Namespace"] == {NAMESPACES[overlay]}
    if overlay == "dev":
        assert "carrier-simulator" in kinds["Deployment"]
    else:
        assert "carrier-simulator" not in kinds["Deployment"]


@needs_kustomize
def test_namespace_and_pod_security(rendered: tuple[dict[str, Any], ...], overlay: str) -> None:
    namespace = NAMESPACES[overlay]
    for obj in rendered:
        if obj["kind"] in CLUSTER_SCOPED:
            continue
        assert obj["metadata"].get("namespace") == namespace, (
            f"{obj['kind']}/{obj['metadata']['name']} is not in {namespace}"
        )
    ns = objects(rendered, "Namespace")[namespace]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in objects(rendered, kind).items():
            spec = pod_spec(workload)
            sc = spec.get("securityContext") or {}
            assert sc.get("runAsNonRoot") is True, f"{name}: runAsNonRoot"
            assert sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
            assert spec.get("automountServiceAccountToken") is False, name
            for c in spec["containers"]:
                csc = c.get("securityContext") or {}
                assert csc.get("allowPrivilegeEscalation") is False, name
                assert csc.get("capabilities", {}).get("drop") == ["ALL"], name
            if kind == "Deployment":
                assert csc.get("readOnlyRootFilesystem") is True, name
                assert spec.get("serviceAccountName") in objects(rendered, "ServiceAccount")


@needs_kustomize
def test_workloads_have_resources_and_probes(
    rendered: tuple[dict[str, Any], ...], overlay: str
) -> None:
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in objects(rendered, kind).items():
            for c in pod_spec(workload)["containers"]:
                for bound in ("requests", "limits"):
                    for resource in ("cpu", "memory"):
                        assert resource in c.get("resources", {}).get(bound, {}), (
                            f"{overlay}: {name} has no {bound}.{resource}"
                        )
                assert "livenessProbe" in c, f"{name}: no liveness probe"
                assert "readinessProbe" in c, f"{name}: no readiness probe"
    deployments = objects(rendered, "Deployment")
    for name in HTTP_SERVICES:
        c = container(deployments[name])
        assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        if "startupProbe" in c:
            assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports == {"http": SERVICES[name].port}, name
        assert config_values(rendered, deployments[name])["HTTP_PORT"] == str(SERVICES[name].port)


def _prestop_seconds(c: dict[str, Any]) -> int:
    pre = (c.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in pre:
        return int(pre["sleep"]["seconds"])
    command = (pre.get("exec") or {}).get("command") or []
    if command[:1] == ["sleep"]:
        return int(command[1])
    return 0


@needs_kustomize
def test_termination_grace_exceeds_the_drain(rendered: tuple[dict[str, Any], ...]) -> None:
    deployments = objects(rendered, "Deployment")
    for name in HTTP_SERVICES:
        spec = pod_spec(deployments[name])
        grace = spec.get("terminationGracePeriodSeconds", 30)
        budget = DRAIN_SECONDS + _prestop_seconds(container(deployments[name]))
        assert grace > budget, f"{name}: grace {grace}s <= drain {DRAIN_SECONDS}s + preStop"
    assert _prestop_seconds(container(deployments["query-api"])) > 0, (
        "query-api needs a preStop pause so endpoints are removed before shutdown"
    )


@needs_kustomize
def test_configuration_and_secret_references(
    rendered: tuple[dict[str, Any], ...], overlay: str
) -> None:
    maps = objects(rendered, "ConfigMap")
    secrets = objects(rendered, "Secret")
    external: set[str] = set()
    for name, workload in objects(rendered, "Deployment").items():
        c = container(workload)
        env_names: set[str] = set()
        for source in c.get("envFrom") or []:
            assert "secretRef" not in source, f"{name}: take secrets key by key (secretKeyRef)"
            ref = source["configMapRef"]["name"]
            assert ref in maps, f"{overlay}: {name} uses missing ConfigMap {ref}"
            data = maps[ref].get("data") or {}
            assert not set(data) & SECRET_ENV, (
                f"ConfigMap {ref} holds secrets {set(data) & SECRET_ENV}"
            )
            env_names |= set(data)
        for env in c.get("env") or []:
            env_names.add(env["name"])
            if env["name"] in SECRET_ENV:
                assert "valueFrom" in env, f"{name}: {env['name']} must come from a Secret"
            ref = (env.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                if ref["name"] in secrets:
                    data = secrets[ref["name"]].get("data") or {}
                    assert ref["key"] in data or ref.get("optional"), f"{name}: {ref}"
                else:
                    external.add(ref["name"])
            cm_ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
            if cm_ref:
                assert cm_ref["name"] in maps
        unknown = env_names - SERVICE_ENV[name]
        assert not unknown, f"{overlay}: {name} gets variables no setting reads: {sorted(unknown)}"
        if name in ORDERLENS_SERVICES:
            needed = {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "HTTP_PORT", *TOPIC_DEFAULTS}
            assert needed <= env_names, f"{name} lacks {sorted(needed - env_names)}"
    assert external == EXTERNAL_SECRETS[overlay], (
        f"{overlay}: Secrets referenced but not generated: {external} "
        f"(expected externally managed: {EXTERNAL_SECRETS[overlay]})"
    )
    if overlay == "prod":
        assert not secrets, "production never generates Secrets from literals"
    tracker = config_values(rendered, objects(rendered, "Deployment")["status-tracker"])
    assert tracker["CARRIER_PROVIDER"] == {"dev": "simulator", "prod": "17track"}[overlay]
    api = config_values(rendered, objects(rendered, "Deployment")["query-api"])
    if overlay == "prod":
        assert api["JWT_JWKS_URL"].startswith("https://")
        assert "HS256" not in api["JWT_ALGORITHMS"]
    console = objects(rendered, "Deployment")["console"]
    console_env = {e["name"]: e for e in container(console).get("env") or []}
    # The console signs its users' tokens with its own key and query-api trusts its JWKS
    # (docs/decisions/0150): no secret shared between the two.
    key_ref = console_env["CONSOLE_API_SIGNING_KEY"]["valueFrom"]["secretKeyRef"]
    assert key_ref["name"].startswith("orderlens-secrets")  # dev: the generated, hashed name
    if overlay == "prod":
        assert not key_ref.get("optional"), "every production replica signs with the same key"
    assert not any(
        (e.get("valueFrom") or {}).get("secretKeyRef", {}).get("key") == "JWT_SECRET"
        for e in console_env.values()
    ), "the console holds no query-api secret"
    assert "CONSOLE_SESSION_SECRET" in console_env
    # The connector's app credentials and token keys come from the Secret, never a ConfigMap.
    connector = objects(rendered, "Deployment")["tiktok-connector"]
    connector_env = {e["name"]: e for e in container(connector).get("env") or []}
    for secret in ("TIKTOK_APP_KEY", "TIKTOK_APP_SECRET", "TIKTOK_TOKEN_KEYS"):
        ref = connector_env[secret]["valueFrom"]["secretKeyRef"]
        assert ref["name"].startswith("orderlens-secrets"), secret  # dev: a generated name
        assert not ref.get("optional"), secret
    connector_config = config_values(rendered, connector)
    assert connector_config["OAUTH_REDIRECT_URL"].endswith("/oauth/tiktok/callback")
    if overlay == "prod":
        assert connector_config["OAUTH_REDIRECT_URL"].startswith("https://")
        for url in ("TIKTOK_API_BASE_URL", "TIKTOK_AUTH_BASE_URL", "TIKTOK_AUTHORIZE_URL"):
            assert connector_config[url].startswith("https://"), url
    console_config = config_values(rendered, console)
    trusted = trusted_issuers(api["JWT_TRUSTED_ISSUERS"])
    console_issuer = next(
        t for t in trusted if t.issuer == console_config["CONSOLE_API_TOKEN_ISSUER"]
    )
    assert console_issuer.jwks_url == (
        f"http://console:{SERVICES['console'].port}/.well-known/jwks.json"
    )
    assert console_issuer.audience == console_config["CONSOLE_API_TOKEN_AUDIENCE"]
    assert (console_issuer.max_lifetime_seconds or 0) in range(1, 3601)
    if overlay == "prod":
        assert console_issuer.audience == api["JWT_AUDIENCE"]
        assert console_issuer.issuer != api["JWT_ISSUER"]
    assert console_config["CONSOLE_QUERY_API_URL"] == (
        f"http://query-api:{SERVICES['query-api'].port}"
    )
    # The demo users' sign-in exists only where it is explicitly on: the dev overlay.
    assert console_config["CONSOLE_DEV_SIGN_IN"] == {"dev": "true", "prod": "false"}[overlay]
    if overlay == "prod":
        assert console_config["CONSOLE_OIDC_ISSUER"].startswith("https://")
        assert console_config["CONSOLE_PUBLIC_URL"].startswith("https://")
        # issue 17 #11: tokens for this API only, no OpenAPI document, one cursor key for
        # every replica, /metrics behind a token that Prometheus presents.
        assert api["JWT_AUDIENCE"]
        assert api["JWT_ISSUER"].startswith("https://")
        assert api["API_DOCS"] == "false"
        env = {e["name"]: e for e in container(objects(rendered, "Deployment")["query-api"])["env"]}
        for secret in ("METRICS_TOKEN", "CURSOR_SECRET"):
            ref = env[secret]["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "orderlens-secrets", secret
            assert not ref.get("optional"), secret
        (endpoint,) = objects(rendered, "ServiceMonitor")["query-api"]["spec"]["endpoints"]
        assert endpoint["authorization"]["credentials"] == {
            "name": "orderlens-secrets",
            "key": "METRICS_TOKEN",
        }


@needs_kustomize
def test_images_are_pinned(rendered: tuple[dict[str, Any], ...], overlay: str) -> None:
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in objects(rendered, kind).items():
            image = container(workload)["image"]
            assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], f"{name}: {image}"
            tag = image.rsplit(":", 1)[-1]
            assert tag != "latest", f"{name}: {image}"
            if overlay == "prod":
                assert image.split("/")[0].count(".") >= 1, f"{name}: use a registry: {image}"
                assert tag != "local", name


@needs_kustomize
def test_services_budgets_and_monitors_select_their_pods(
    rendered: tuple[dict[str, Any], ...],
) -> None:
    deployments = objects(rendered, "Deployment")
    services = objects(rendered, "Service")
    budgets = objects(rendered, "PodDisruptionBudget")
    monitors = objects(rendered, "ServiceMonitor")
    for name, workload in deployments.items():
        labels = pod_labels(workload)
        assert label_selector_matches(workload["spec"]["selector"], labels), name
        service = services[name]
        assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items()), name
        assert [p["name"] for p in service["spec"]["ports"]] == ["http"], name
        assert service["spec"]["ports"][0]["targetPort"] == "http"
        budget = budgets[name]["spec"]
        assert label_selector_matches(budget["selector"], labels), f"PDB {name}"
        assert ("minAvailable" in budget) != ("maxUnavailable" in budget), f"PDB {name}"
        if name in HTTP_SERVICES:
            monitor = monitors[name]["spec"]
            assert label_selector_matches(monitor["selector"], service["metadata"]["labels"])
            (endpoint,) = monitor["endpoints"]
            endpoint = {k: v for k, v in endpoint.items() if k != "authorization"}
            assert endpoint == {
                "port": "http",
                "path": "/metrics",
                "interval": "15s",
                "scrapeTimeout": "10s",
            }
            assert monitor["jobLabel"] == "app.kubernetes.io/name"
            assert service["metadata"]["labels"]["app.kubernetes.io/name"] == name


@needs_kustomize
def test_query_api_autoscaling(rendered: tuple[dict[str, Any], ...]) -> None:
    hpa = objects(rendered, "HorizontalPodAutoscaler")["query-api"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "query-api",
    }
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    assert "replicas" not in objects(rendered, "Deployment")["query-api"]["spec"], (
        "the HPA owns replicas: setting them in the Deployment resets it on every apply"
    )
    pdb = objects(rendered, "PodDisruptionBudget")["query-api"]["spec"]
    if "minAvailable" in pdb:
        assert pdb["minAvailable"] < hpa["minReplicas"], "the PDB would block every node drain"
    assert {m["resource"]["name"] for m in hpa["metrics"]} == {"cpu"}


@needs_kustomize
def test_keda_scales_consumers_on_lag_within_partitions(
    rendered: tuple[dict[str, Any], ...],
) -> None:
    config = shared_config(rendered)
    topics = {t["spec"]["topicName"]: t["spec"] for t in objects(rendered, "KafkaTopic").values()}
    deployments = objects(rendered, "Deployment")
    for name, scaled in objects(rendered, "ScaledObject").items():
        spec = scaled["spec"]
        service = SERVICES[name]
        assert spec["scaleTargetRef"]["name"] == name
        assert spec["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
        assert name in deployments
        assert "replicas" not in deployments[name]["spec"], f"KEDA owns {name}'s replicas"
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        triggered = set()
        for trigger in spec["triggers"]:
            meta = trigger["metadata"]
            assert trigger["type"] == "kafka"
            assert meta["consumerGroup"] == service.consumer_group
            assert meta["bootstrapServers"] == config["KAFKA_BOOTSTRAP_SERVERS"]
            assert int(meta["lagThreshold"]) > 0
            assert meta["topic"] in topics, f"{name}: trigger on unknown topic {meta['topic']}"
            partitions = topics[meta["topic"]]["partitions"]
            assert spec["maxReplicaCount"] <= partitions, (
                f"{name}: maxReplicaCount {spec['maxReplicaCount']} > {partitions} partitions "
                f"of {meta['topic']} (extra consumers would idle)"
            )
            triggered.add(meta["topic"])
        assert triggered == {config[t] for t in service.topics_consumed}, name
    # consumers not scaled by KEDA still use their documented group (status-tracker publishes)
    assert SERVICES["status-tracker"].consumer_group == "orderlens-status-tracker"


@needs_kustomize
def test_kafka_topics_match_the_configuration(
    rendered: tuple[dict[str, Any], ...], overlay: str
) -> None:
    config = shared_config(rendered)
    connector = config_values(rendered, objects(rendered, "Deployment")["tiktok-connector"])
    topics = list(objects(rendered, "KafkaTopic").values())
    names = {t["spec"]["topicName"] for t in topics}
    assert names == {config[key] for key in TOPIC_DEFAULTS} | {
        connector[key] for key in SERVICE_TOPICS
    }
    assert names == set(TOPIC_DEFAULTS.values()) | set(SERVICE_TOPICS.values())
    for topic in topics:
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "orderlens"
        assert config["KAFKA_BOOTSTRAP_SERVERS"].startswith("orderlens-kafka-bootstrap")
        assert spec["partitions"] >= 1
        assert int(spec["config"]["retention.ms"]) > 0
        assert spec["config"]["cleanup.policy"] == "delete"
        isr = int(spec["config"]["min.insync.replicas"])
        if overlay == "prod":
            assert spec["replicas"] >= 3, spec["topicName"]
            assert 1 < isr < spec["replicas"], "survive one broker loss without losing acks=all"
        else:
            assert isr <= spec["replicas"]
    by_name = {t["spec"]["topicName"]: t["spec"] for t in topics}
    assert (
        by_name["orders.created"]["partitions"] == by_name["orders.status-changed"]["partitions"]
    ), "both order topics are keyed by order id and consumed by the same group"
    dead = int(by_name["orders.dead-letter"]["config"]["retention.ms"])
    assert dead >= max(int(s["config"]["retention.ms"]) for s in by_name.values()), (
        "dead letters are kept at least as long as anything else, for operators to replay"
    )


@needs_kustomize
def test_exports_volume(rendered: tuple[dict[str, Any], ...], overlay: str) -> None:
    pvc = objects(rendered, "PersistentVolumeClaim")["orderlens-exports"]["spec"]
    if overlay == "prod":
        assert pvc["accessModes"] == ["ReadWriteMany"], "exporter and query-api pods share it"
        assert pvc.get("storageClassName")
    deployments = objects(rendered, "Deployment")
    for name, read_only in (("exporter", False), ("query-api", True)):
        spec = pod_spec(deployments[name])
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["name"]: m for m in container(deployments[name])["volumeMounts"]}
        (claim,) = [n for n, v in volumes.items() if _claim(v) == "orderlens-exports"]
        assert mounts[claim]["mountPath"] == EXPORT_DIR
        assert bool(mounts[claim].get("readOnly")) is read_only, name
        assert config_values(rendered, deployments[name])["EXPORT_DIR"] == EXPORT_DIR


def _claim(volume: dict[str, Any]) -> str | None:
    claim: str | None = (volume.get("persistentVolumeClaim") or {}).get("claimName")
    return claim


def test_mail_outbox_volume(rendered: tuple[dict[str, Any], ...], overlay: str) -> None:
    """The notifier and query-api write the same outbox (decision 0186)."""
    pvc = objects(rendered, "PersistentVolumeClaim")["orderlens-mail-outbox"]["spec"]
    if overlay == "prod":
        assert pvc["accessModes"] == ["ReadWriteMany"]
    deployments = objects(rendered, "Deployment")
    for name in ("notifier", "query-api"):
        volumes = {v["name"]: v for v in pod_spec(deployments[name])["volumes"]}
        mounts = {m["name"]: m for m in container(deployments[name])["volumeMounts"]}
        (claim,) = [n for n, v in volumes.items() if _claim(v) == "orderlens-mail-outbox"]
        directory = config_values(rendered, deployments[name])["MAIL_OUTBOX_DIR"]
        assert mounts[claim]["mountPath"] == directory, name
        assert not mounts[claim].get("readOnly"), name


def _policy_applies(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    return label_selector_matches(policy["spec"]["podSelector"], labels)


def _egress_ports(policies: list[dict[str, Any]], labels: dict[str, str]) -> set[Any]:
    ports: set[Any] = set()
    for policy in policies:
        if _policy_applies(policy, labels):
            for rule in policy["spec"].get("egress") or []:
                ports |= {p["port"] for p in rule.get("ports") or []}
    return ports


def _ingress_rules(policies: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        rule
        for policy in policies
        if _policy_applies(policy, labels)
        for rule in policy["spec"].get("ingress") or []
    ]


@needs_kustomize
def test_network_policies(rendered: tuple[dict[str, Any], ...], overlay: str) -> None:
    policies = list(objects(rendered, "NetworkPolicy").values())
    workloads = [
        *objects(rendered, "Deployment").values(),
        *objects(rendered, "StatefulSet").values(),
    ]
    for policy in policies:
        selected = [w for w in workloads if _policy_applies(policy, pod_labels(w))]
        assert selected, f"NetworkPolicy {policy['metadata']['name']} selects no pod"
        for rule in policy["spec"].get("ingress") or []:
            for port in rule.get("ports") or []:
                if isinstance(port["port"], str):
                    for w in selected:
                        names = {p["name"] for c in pod_spec(w)["containers"] for p in c["ports"]}
                        assert port["port"] in names, f"{policy['metadata']['name']}: port"
    deny = objects(rendered, "NetworkPolicy")["orderlens-default-deny"]["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    deployments = objects(rendered, "Deployment")
    for name in HTTP_SERVICES:
        labels = pod_labels(deployments[name])
        assert _policy_applies({"spec": deny}, labels), f"{name} is not default-denied"
        needed = {53} if name in WEB_SERVICES else {53, 9092, 27017}
        assert needed <= _egress_ports(policies, labels), name
        from_monitoring = [
            r
            for r in _ingress_rules(policies, labels)
            if any(
                (f.get("namespaceSelector") or {})
                .get("matchLabels", {})
                .get("kubernetes.io/metadata.name")
                == "monitoring"
                for f in r.get("from") or []
            )
        ]
        assert from_monitoring, f"Prometheus cannot scrape {name}"
    tracker = pod_labels(deployments["status-tracker"])
    assert 443 in _egress_ports(policies, tracker), "status-tracker calls carrier APIs"
    assert 443 in _egress_ports(policies, pod_labels(deployments["query-api"])), "JWKS"
    for name in CONSUMERS:
        if name == "status-tracker":
            continue
        assert 443 not in _egress_ports(policies, pod_labels(deployments[name])), name
    if overlay == "dev":
        assert 8090 in _egress_ports(policies, tracker), "status-tracker -> carrier-simulator"
    # The connector: TikTok Shop over HTTPS, its webhooks and OAuth callback from the ingress
    # controller, exposed by an Ingress with those paths only (not /shops, not /metrics).
    connector = pod_labels(deployments["tiktok-connector"])
    assert 443 in _egress_ports(policies, connector), "tiktok-connector -> TikTok Shop"
    assert any(
        (f.get("namespaceSelector") or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        == "ingress-nginx"
        for rule in _ingress_rules(policies, connector)
        for f in rule.get("from") or []
    ), "TikTok's webhooks cannot reach the connector"
    ingress = objects(rendered, "Ingress")["tiktok-connector"]["spec"]
    paths = {
        p["path"]: p["backend"]["service"]
        for rule in ingress["rules"]
        for p in rule["http"]["paths"]
    }
    assert set(paths) == {"/webhooks/tiktok", "/oauth/tiktok/authorize", "/oauth/tiktok/callback"}
    assert {s["name"] for s in paths.values()} == {"tiktok-connector"}
    console = pod_labels(deployments["console"])
    api = pod_labels(deployments["query-api"])
    assert SERVICES["query-api"].port in _egress_ports(policies, console), "console -> query-api"
    assert 443 in _egress_ports(policies, console), "console -> identity provider"
    assert any(
        label_selector_matches(f.get("podSelector") or {"matchLabels": {"_": "_"}}, console)
        for rule in _ingress_rules(policies, api)
        for f in rule.get("from") or []
    ), "query-api does not accept the console's calls"
    # query-api fetches the console's JWKS (docs/decisions/0150).
    assert SERVICES["console"].port in _egress_ports(policies, api), "query-api -> console JWKS"
    assert any(
        label_selector_matches(f.get("podSelector") or {"matchLabels": {"_": "_"}}, api)
        for rule in _ingress_rules(policies, console)
        for f in rule.get("from") or []
    ), "the console does not serve its JWKS to query-api"
