"""docker-compose.yml, checked statically (no Docker engine on these machines)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from deploy_contract import (
    EXPORT_DIR,
    HTTP_SERVICES,
    K8S,
    ORDERLENS_SERVICES,
    REPO_ROOT,
    SERVICE_ENV,
    SERVICE_TOPICS,
    SERVICES,
    TOPIC_DEFAULTS,
    dockerfile_stages,
    load_yaml,
    load_yaml_docs,
    trusted_issuers,
)

pytestmark = pytest.mark.unit

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
EXPECTED_SERVICES = {
    "kafka",
    "kafka-init",
    "mongo",
    "carrier-simulator",
    *HTTP_SERVICES,
    "tiktok-connector",
    "prometheus",
    "grafana",
}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
COMPOSECHECK = Path(__file__).resolve().parent / "composecheck"
# Variables docker-compose.yml interpolates: unset them so the defaults are what is checked.
INTERPOLATED = re.compile(r"\$\{(\w+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE_FILE)
    assert isinstance(data, dict), "docker-compose.yml is not a mapping"
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


def one_shots(services: dict[str, dict[str, Any]]) -> set[str]:
    return {
        dep
        for svc in services.values()
        for dep, cond in depends_on(svc).items()
        if cond == "service_completed_successfully"
    }


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: str(v) for k, v in env.items()}


def test_top_level_keys(compose: dict[str, Any]) -> None:
    allowed = {"name", "services", "volumes", "networks", "configs", "secrets"}
    unknown = {k for k in compose if k not in allowed and not k.startswith("x-")}
    assert not unknown, f"unknown top-level keys {unknown}"
    assert "version" not in compose, "`version` is obsolete in the Compose Specification"


def test_runs_the_whole_stack(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == EXPECTED_SERVICES
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["mongo"]["image"].startswith("mongo:7")


def test_every_depends_on_references_a_defined_service(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, svc in services.items():
        for dep, condition in depends_on(svc).items():
            assert dep in services, f"{name} depends on undefined service {dep!r}"
            assert dep != name
            assert condition in CONDITIONS, f"{name} -> {dep}: unknown condition {condition}"
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy"


def test_dependency_graph_has_no_cycle(services: dict[str, dict[str, Any]]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 1:
            raise AssertionError(f"dependency cycle: {' -> '.join([*path, name])}")
        if state.get(name) == 2:
            return
        state[name] = 1
        for dep in depends_on(services[name]):
            visit(dep, [*path, name])
        state[name] = 2

    for name in services:
        visit(name, [])


def test_orderlens_services_wait_for_their_dependencies(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ORDERLENS_SERVICES:
        deps = depends_on(services[name])
        assert deps.get("kafka") == "service_healthy", name
        assert deps.get("mongo") == "service_healthy", name
        assert deps.get("kafka-init") == "service_completed_successfully", name
    assert depends_on(services["status-tracker"]).get("carrier-simulator") == "service_healthy"
    assert depends_on(services["grafana"]).get("prometheus") == "service_healthy"
    # The console needs only query-api, which needs the rest.
    assert depends_on(services["console"]) == {"query-api": "service_healthy"}


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    shots = one_shots(services)
    for name, svc in services.items():
        if name in shots:
            # A one-shot init container exits; its success is the depends_on condition.
            assert str(svc.get("restart", "no")) == "no", f"{name} is one-shot: restart must be no"
            continue
        check = svc.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"
        test = check["test"]
        assert test, f"{name}: empty healthcheck test"
        assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: bad healthcheck test {test}"


def test_orderlens_healthchecks_hit_healthz(services: dict[str, dict[str, Any]]) -> None:
    for name in (*HTTP_SERVICES, "carrier-simulator"):
        test = services[name]["healthcheck"]["test"]
        assert "/healthz" in " ".join(test), name
        assert environment(services[name])["HTTP_PORT"] == str(SERVICES[name].port)


def _host_ports(svc: dict[str, Any]) -> list[tuple[str, int, int]]:
    out = []
    for port in svc.get("ports") or []:
        if isinstance(port, dict):
            out.append((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
            continue
        spec = str(port).split("/")[0]
        parts = spec.split(":")
        if len(parts) == 1:
            continue  # container port only, ephemeral host port
        host_ip = parts[0] if len(parts) == 3 else ""
        out.append((host_ip, int(parts[-2]), int(parts[-1])))
    return out


def test_published_ports_do_not_clash(services: dict[str, dict[str, Any]]) -> None:
    seen: dict[int, str] = {}
    for name, svc in services.items():
        for _, host, _ in _host_ports(svc):
            assert host not in seen, f"host port {host} used by {seen[host]} and {name}"
            seen[host] = name


def test_orderlens_ports_match_the_services(services: dict[str, dict[str, Any]]) -> None:
    for name in (*HTTP_SERVICES, "carrier-simulator"):
        ports = _host_ports(services[name])
        assert (SERVICES[name].port, SERVICES[name].port) in {(h, c) for _, h, c in ports}, name


def test_every_build_points_to_an_existing_dockerfile(
    services: dict[str, dict[str, Any]],
) -> None:
    built = {}
    for name, svc in services.items():
        build = svc.get("build")
        if build is None:
            continue
        if isinstance(build, str):
            build = {"context": build}
        context = (REPO_ROOT / build.get("context", ".")).resolve()
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} does not exist"
        built[name] = dockerfile.relative_to(REPO_ROOT).as_posix()
        assert context == REPO_ROOT, f"{name}: the build context must be the workspace root"
    built_here = (*HTTP_SERVICES, "tiktok-connector", "carrier-simulator")
    assert built == {n: SERVICES[n].dockerfile for n in built_here}


def test_images_exposing_a_port_publish_it(services: dict[str, dict[str, Any]]) -> None:
    for name in (*HTTP_SERVICES, "tiktok-connector", "carrier-simulator"):
        build = services[name]["build"]
        # Rendered with the build arguments compose passes, as `docker compose build` would.
        args = {k: str(v) for k, v in build.get("args", {}).items()}
        assert args == SERVICES[name].build_args, f"{name}: build args {args}"
        runtime = dockerfile_stages(REPO_ROOT / build["dockerfile"], args)[-1]
        exposed = {int(i.args) for i in runtime.instructions if i.keyword == "EXPOSE"}
        assert exposed == {c for _, _, c in _host_ports(services[name])}, name


def test_service_environment_matches_the_settings(services: dict[str, dict[str, Any]]) -> None:
    for name in (*HTTP_SERVICES, "carrier-simulator"):
        env = environment(services[name])
        unknown = set(env) - SERVICE_ENV[name]
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
    for name in ORDERLENS_SERVICES:
        env = environment(services[name])
        for key in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", *TOPIC_DEFAULTS):
            assert key in env, f"{name} lacks {key}"
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["MONGODB_URI"].startswith("mongodb://mongo:27017/")
        assert "replicaSet=rs0" in env["MONGODB_URI"]
        for key, default in TOPIC_DEFAULTS.items():
            assert env[key] == default, f"{name}: {key}={env[key]}"
    tracker = environment(services["status-tracker"])
    assert tracker["CARRIER_SIMULATOR_URL"] == "http://carrier-simulator:8090"
    assert "JWT_SECRET" in environment(services["query-api"])
    console = environment(services["console"])
    assert console["CONSOLE_QUERY_API_URL"] == f"http://query-api:{SERVICES['query-api'].port}"
    # query-api trusts the console's own key from its JWKS (docs/decisions/0150).
    _assert_trusts_console(environment(services["query-api"]), console)


def test_kafka_is_kraft_and_reachable(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    # CLUSTER_ID is a Kafka Uuid: 16 bytes, base64url without padding (22 characters).
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"])
    host_ports = {h for _, h, _ in _host_ports(services["kafka"])}
    advertised_host = re.search(
        r"PLAINTEXT_HOST://localhost:(\d+)", env["KAFKA_ADVERTISED_LISTENERS"]
    )
    assert advertised_host is not None
    assert int(advertised_host.group(1)) in host_ports


def test_kafka_init_creates_the_five_topics(services: dict[str, dict[str, Any]]) -> None:
    init = services["kafka-init"]
    env = environment(init)
    script = " ".join(init["command"])
    for key, default in TOPIC_DEFAULTS.items():
        assert env[key] == default
        assert f'create "$${key}"' in script, f"kafka-init does not create {key}"
    assert "--if-not-exists" in script, "topic creation must be idempotent"
    assert "retention.ms" in script
    assert depends_on(init) == {"kafka": "service_healthy"}


def test_mongo_runs_an_initiated_replica_set(services: dict[str, dict[str, Any]]) -> None:
    mongo = services["mongo"]
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0"
    check = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in check
    assert "_id: 'rs0'" in check
    assert "PRIMARY" in check


def test_exports_volume_is_shared_by_exporter_and_query_api(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    for name in ("exporter", "query-api"):
        mounts = services[name].get("volumes") or []
        assert f"exports:{EXPORT_DIR}" in mounts, name
        assert environment(services[name])["EXPORT_DIR"] == EXPORT_DIR


def test_volumes_are_declared_and_bind_mounts_exist(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    for name, svc in services.items():
        for mount in svc.get("volumes") or []:
            source = str(mount).split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).exists(), f"{name}: bind source {source} is missing"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"


def test_observability_mounts(services: dict[str, dict[str, Any]]) -> None:
    prom = services["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prom["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    grafana = services["grafana"]
    mounts = {}
    for volume in grafana["volumes"]:
        source, target = str(volume).split(":")[:2]
        mounts[source] = target
    provisioning = Path(mounts["./deploy/grafana/provisioning"])
    assert provisioning == Path("/etc/grafana/provisioning")
    home = environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    dashboards_dir = mounts["./deploy/grafana/dashboards"]
    assert home.startswith(dashboards_dir + "/")
    assert (REPO_ROOT / "deploy/grafana/dashboards" / Path(home).name).is_file()


def test_consumers_get_time_to_drain(services: dict[str, dict[str, Any]]) -> None:
    for name in HTTP_SERVICES:
        grace = services[name].get("stop_grace_period", "10s")
        assert re.fullmatch(r"\d+s", grace), grace
        assert int(grace[:-1]) > 30, f"{name}: stop_grace_period {grace} <= the 30 s drain"


# ---------------------------------------------------------------------------------------------
# compose-go: the loader of `docker compose` itself (schema + semantic validation)
# ---------------------------------------------------------------------------------------------
@functools.cache
def composecheck() -> Path | str:
    """The compose-go helper binary, built once per source version; or why it is unavailable."""
    go = shutil.which("go")
    if go is None:
        return "the Go toolchain is not installed (needed to build the compose-go checker)"
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        digest.update((COMPOSECHECK / name).read_bytes())
    binary = Path(tempfile.gettempdir()) / f"orderlens-composecheck-{digest.hexdigest()[:16]}"
    if binary.is_file():
        return binary
    partial = binary.with_name(f"{binary.name}.{os.getpid()}")
    result = subprocess.run(
        [go, "build", "-o", str(partial), "."],
        cwd=COMPOSECHECK,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "GOFLAGS": "-mod=readonly -buildvcs=false"},
    )
    if result.returncode != 0:
        return f"cannot build the compose-go checker (offline?): {result.stderr[-400:]}"
    partial.replace(binary)
    return binary


def run_composecheck(path: Path) -> subprocess.CompletedProcess[str]:
    binary = composecheck()
    if isinstance(binary, str):
        pytest.skip(binary)
    text = path.read_text(encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in set(INTERPOLATED.findall(text))}
    env = {k: v for k, v in env.items() if not k.startswith("COMPOSE_")}
    return subprocess.run(
        [str(binary), str(path)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_compose_go_loads_the_file() -> None:
    """What `docker compose config` would say: valid against the Compose Specification schema,
    interpolation works, references resolve."""
    result = run_composecheck(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr
    project = json.loads(result.stdout)
    assert project["name"] == "orderlens"
    assert set(project["services"]) == EXPECTED_SERVICES
    api = project["services"]["query-api"]
    assert api["environment"]["LOG_LEVEL"] == "INFO"  # ${LOG_LEVEL:-INFO} interpolated
    assert api["environment"]["JWT_ALGORITHMS"] == "HS256"
    assert api["build"]["dockerfile"] == "deploy/docker/Dockerfile"
    assert api["build"]["args"] == {"SERVICE": "query-api", "HTTP_PORT": "8000"}
    console = project["services"]["console"]
    assert console["build"]["args"] == {"SERVICE": "console", "HTTP_PORT": "8084"}
    _assert_trusts_console(api["environment"], console["environment"])


def test_compose_go_rejects_an_invalid_file(tmp_path: Path) -> None:
    """The checker bites (so the test above means something)."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n"
        "  a:\n"
        "    image: busybox\n"
        "    depends_on:\n"
        "      b:\n"
        "        condition: service_healty\n"
        "  b:\n"
        "    image: busybox\n"
        "    helthcheck: {test: [CMD, 'true']}\n",
        encoding="utf-8",
    )
    result = run_composecheck(broken)
    assert result.returncode == 1
    assert "depends_on.b.condition" in result.stderr or "helthcheck" in result.stderr


# ---------------------------------------------------------------------------------------------
# The replica-set initiation script of the MongoDB healthcheck, run under Node with a fake `rs`
# ---------------------------------------------------------------------------------------------
MONGOSH_HARNESS = r"""
const vm = require("vm");
const [script, state] = process.argv.slice(1);  // `node -e`: no script path in argv
const result = { code: null, initiated: null };
class Quit {}
const rs = {
  status() {
    if (state === "uninitialised") throw new Error("no replset config has been received");
    return { members: [{ stateStr: state }] };
  },
  initiate(config) { result.initiated = config; return { ok: 1 }; },
};
const quit = (code) => { result.code = code; throw new Quit(); };  // mongosh exits here
try { vm.runInNewContext(script, { rs, quit }); } catch (e) { if (!(e instanceof Quit)) throw e; }
process.stdout.write(JSON.stringify(result));
"""


def mongo_init_scripts() -> list[tuple[str, str, str]]:
    """(where, script, expected member host) of the compose healthcheck and the dev probe."""
    compose = load_yaml(COMPOSE_FILE)
    scripts = [("docker-compose.yml", compose["services"]["mongo"]["healthcheck"]["test"][-1])]
    for doc in load_yaml_docs(K8S / "overlays/dev/mongodb.yaml"):
        if doc["kind"] == "StatefulSet":
            (c,) = doc["spec"]["template"]["spec"]["containers"]
            scripts.append(
                ("overlays/dev/mongodb.yaml", c["readinessProbe"]["exec"]["command"][-1])
            )
    hosts = {
        "docker-compose.yml": "mongo:27017",
        "overlays/dev/mongodb.yaml": "mongodb-0.mongodb:27017",
    }
    return [(where, script, hosts[where]) for where, script in scripts]


@pytest.mark.parametrize(("where", "script", "host"), mongo_init_scripts(), ids=lambda v: v[:30])
@pytest.mark.parametrize(
    ("state", "code", "initiates"),
    [
        ("uninitialised", 1, True),
        ("STARTUP2", 1, False),
        ("SECONDARY", 1, False),
        ("PRIMARY", 0, False),
    ],
)
def test_mongo_healthcheck_initiates_the_replica_set(
    where: str, script: str, host: str, state: str, code: int, initiates: bool
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot run the mongosh script")
    result = subprocess.run(
        [node, "-e", MONGOSH_HARNESS, script, state],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["code"] == code, f"{where}: exit code when {state}"
    if initiates:
        assert outcome["initiated"] == {"_id": "rs0", "members": [{"_id": 0, "host": host}]}
    else:
        assert outcome["initiated"] is None, f"{where}: re-initiates an initiated set"


def test_kafka_init_script_runs(tmp_path: Path, services: dict[str, dict[str, Any]]) -> None:
    """Run kafka-init's bash script against a fake kafka-topics.sh that records its calls."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    init = services["kafka-init"]
    assert init["entrypoint"][:2] == ["/bin/bash", "-ec"]
    script = init["command"][0].replace("$$", "$")  # compose's escaping of `$`
    log = tmp_path / "calls.log"
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text(
        f'#!/bin/bash\necho "$*" >> {log}\n'
        'if [[ " $* " == *" --describe "* ]]; then echo "Topic: x	TopicId: y"; fi\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    script = script.replace("/opt/kafka/bin/kafka-topics.sh", str(fake))
    env = {"PATH": os.environ.get("PATH", ""), **environment(init)}
    result = subprocess.run(
        [bash, "-ec", script], capture_output=True, text=True, timeout=30, check=False, env=env
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text(encoding="utf-8").splitlines()
    creates = [c.split() for c in calls if "--create" in c]
    assert len(creates) == len(TOPIC_DEFAULTS) + len(SERVICE_TOPICS)
    created = {}
    for args in creates:
        assert "--if-not-exists" in args
        assert args[args.index("--bootstrap-server") + 1] == "kafka:9092"
        topic = args[args.index("--topic") + 1]
        created[topic] = int(args[args.index("--partitions") + 1])
        assert any(a.startswith("retention.ms=") for a in args)
    assert set(created) == set(TOPIC_DEFAULTS.values()) | set(SERVICE_TOPICS.values())
    assert created["orders.created"] == created["orders.status-changed"]


def _assert_trusts_console(api_env: dict[str, Any], console_env: dict[str, Any]) -> None:
    trusted = trusted_issuers(api_env["JWT_TRUSTED_ISSUERS"])
    match = [t for t in trusted if t.issuer == console_env["CONSOLE_API_TOKEN_ISSUER"]]
    assert match, "query-api does not trust the console's tokens"
    assert match[0].jwks_url == f"http://console:{SERVICES['console'].port}/.well-known/jwks.json"
    assert match[0].audience == console_env["CONSOLE_API_TOKEN_AUDIENCE"]
    assert "CONSOLE_API_TOKEN_SECRET" not in console_env, "the console holds no query-api secret"
