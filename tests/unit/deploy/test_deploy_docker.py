"""Dockerfiles and .dockerignore, checked statically (no Docker engine on these machines).

Every orderlens service is built from the one deploy/docker/Dockerfile with
`--build-arg SERVICE=<dir under services/>`; each check below renders it for each service."""

from __future__ import annotations

import http.server
import importlib
import importlib.util
import os
import socket
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from deploy_contract import (
    REPO_ROOT,
    SERVICE_DOCKERFILE,
    SERVICES,
    DockerIgnore,
    Service,
    context_files,
    dockerfile_stages,
    split_args,
)

pytestmark = pytest.mark.unit

HEALTHCHECK_SCRIPT = REPO_ROOT / "deploy/docker/healthcheck.py"
DOCKERIGNORE = DockerIgnore(REPO_ROOT / ".dockerignore")


def dockerignore_for(dockerfile: str) -> DockerIgnore:
    """BuildKit reads `<Dockerfile>.dockerignore` beside a Dockerfile instead of the root one
    (the dev-only carrier simulator image uses that to include tools/)."""
    own = REPO_ROOT / f"{dockerfile}.dockerignore"
    return DockerIgnore(own) if own.is_file() else DOCKERIGNORE


def dockerfiles() -> list[Service]:
    return list(SERVICES.values())


def _workspace_members() -> list[str]:
    root = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members: list[str] = []
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        members.extend(
            p.parent.relative_to(REPO_ROOT).as_posix()
            for p in sorted(REPO_ROOT.glob(f"{pattern}/pyproject.toml"))
        )
    return members


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_dockerfile_exists_and_is_multi_stage(service: Service) -> None:
    path = REPO_ROOT / service.dockerfile
    assert path.is_file(), f"{service.dockerfile} is missing"
    stages = dockerfile_stages(path, service.build_args)
    assert len(stages) >= 2, "expected a multi-stage build (builder + runtime)"
    runtime = stages[-1]
    assert runtime.base == "python:3.11-slim", f"runtime base is {runtime.base!r}"
    builder_bases = {s.base for s in stages if s.name == "builder"}
    assert builder_bases == {"python:3.11-slim"}, (
        "the builder must use the runtime's Python image, or the venv's interpreter links break"
    )


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_dockerfile_installs_from_the_lock_with_uv(service: Service) -> None:
    stages = dockerfile_stages(REPO_ROOT / service.dockerfile, service.build_args)
    runs = [i.args for s in stages for i in s.instructions if i.keyword == "RUN"]
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs, "no `uv sync` in the Dockerfile"
    for run in syncs:
        for flag in ("--frozen", "--no-dev", f"--package {service.package}"):
            assert flag in run, f"`{run}` lacks {flag}"
    assert any("--no-editable" in r for r in syncs), "the final sync must be --no-editable"
    assert not any("pip install" in r for r in runs), "install with uv from uv.lock only"


def _copied(service: Service) -> set[str]:
    copied: set[str] = set()
    for stage in dockerfile_stages(REPO_ROOT / service.dockerfile, service.build_args):
        for ins in stage.instructions:
            if ins.keyword in {"COPY", "ADD"}:
                flags, words = split_args(ins.args)
                if "from" not in flags:
                    copied.update(words[:-1])
    return copied


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_dockerfile_copies_the_lock_and_the_manifests_it_installs(service: Service) -> None:
    """`uv sync --frozen --package X` needs the root manifest, the lock and the manifests of X and
    of the library only (tried with uv: the other members may be absent)."""
    copied = _copied(service)
    assert {"pyproject.toml", "uv.lock"} <= copied
    assert f"{service.package_dir}/pyproject.toml" in copied
    assert f"{service.package_dir}/src" in copied
    assert "shared/src" in copied


def test_every_service_directory_builds_with_the_one_dockerfile() -> None:
    """A new services/<dir> is built by `--build-arg SERVICE=<dir>` alone: its package is
    orderlens-<dir> with a console script of the same name (the image's entry point)."""
    built = {s.package_dir for s in SERVICES.values() if s.dockerfile == SERVICE_DOCKERFILE}
    for manifest in sorted(REPO_ROOT.glob("services/*/pyproject.toml")):
        directory = manifest.parent.name
        project = tomllib.loads(manifest.read_text(encoding="utf-8"))["project"]
        assert project["name"] == f"orderlens-{directory}", manifest
        assert f"orderlens-{directory}" in project.get("scripts", {}), manifest
        assert not (manifest.parent / "Dockerfile").exists(), (
            f"services/{directory}/Dockerfile: build with deploy/docker/Dockerfile instead"
        )
        if directory in {"order-ingest", "status-tracker", "query-api", "exporter", "console"}:
            assert f"services/{directory}" in built


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_runtime_stage_is_non_root_with_healthcheck(service: Service) -> None:
    runtime = dockerfile_stages(REPO_ROOT / service.dockerfile, service.build_args)[-1]
    keywords = [i.keyword for i in runtime.instructions]
    users = [i.args for i in runtime.instructions if i.keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"runtime runs as {users[-1]}"
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")

    checks = [i.args for i in runtime.instructions if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1, "exactly one HEALTHCHECK in the runtime stage"
    assert "/healthz" in checks[0]
    assert "healthcheck.py" in checks[0]
    copies = [i.args for i in runtime.instructions if i.keyword == "COPY"]
    assert any("deploy/docker/healthcheck.py" in c for c in copies)

    env = " ".join(i.args for i in runtime.instructions if i.keyword == "ENV")
    assert f"HTTP_PORT={service.port}" in env, "the health probe reads HTTP_PORT"
    exposed = [i.args for i in runtime.instructions if i.keyword == "EXPOSE"]
    assert exposed == [str(service.port)]


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_entrypoint_is_the_packages_console_script(service: Service) -> None:
    stages = dockerfile_stages(REPO_ROOT / service.dockerfile, service.build_args)
    runtime = stages[-1]
    entrypoints = [i.args for i in runtime.instructions if i.keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    _, words = split_args(entrypoints[0])
    script = words[0]
    if service.dockerfile == SERVICE_DOCKERFILE:
        # The builder links the package's console script to one name, orderlens-service.
        links = [
            i.args
            for s in stages
            for i in s.instructions
            if i.keyword == "RUN" and f"ln -s /app/.venv/bin/{service.script} " in i.args
        ]
        assert len(links) == 1, f"no link from {service.script} to the entry point"
        assert links[0].endswith(f"/app/.venv/bin/{script}")
    else:
        assert script == service.script
    project = tomllib.loads(
        (REPO_ROOT / service.package_dir / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]
    assert project["name"] == service.package
    assert service.script in project.get("scripts", {}), (
        f"{service.package} declares no console script {service.script!r}"
    )
    module_name, _, attribute = project["scripts"][service.script].partition(":")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute, None)), f"{module_name}:{attribute} is not callable"
    if service.name == "carrier-simulator":
        assert words[1:] == ["carrier-simulator"]
        cmd = [i.args for i in runtime.instructions if i.keyword == "CMD"]
        assert cmd, "the simulator needs its --port"
        assert split_args(cmd[-1])[1] == ["--port", str(service.port)]


# ---------------------------------------------------------------------------------------------
# Production images carry no dev tooling (docs/architecture.md, "Images")
# ---------------------------------------------------------------------------------------------
DEVTOOLS = "orderlens-devtools"


def _lock_packages() -> dict[str, dict[str, object]]:
    lock = tomllib.loads((REPO_ROOT / "uv.lock").read_text(encoding="utf-8"))
    return {p["name"]: p for p in lock["package"]}


def _runtime_closure(name: str, packages: dict[str, dict[str, object]]) -> set[str]:
    """What `uv sync --no-dev --package <name>` installs, per uv.lock: the package's
    dependencies, transitively, without dev groups or optional extras."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for dependency in packages[current].get("dependencies", []):  # type: ignore[attr-defined]
            todo.append(dependency["name"])
    return seen


def test_devtools_is_a_workspace_member_the_lock_knows() -> None:
    """The checks below would pass vacuously if the dev tooling package had another name."""
    assert "tools" in _workspace_members()
    project = tomllib.loads((REPO_ROOT / "tools/pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == DEVTOOLS
    assert DEVTOOLS in _lock_packages()


@pytest.mark.parametrize(
    "service", [s for s in dockerfiles() if s.dockerfile == SERVICE_DOCKERFILE], ids=str
)
def test_production_images_install_no_dev_tooling(service: Service) -> None:
    packages = _lock_packages()
    closure = _runtime_closure(service.package, packages)
    assert "orderlens" in closure, "the closure walk found not even the library"
    assert DEVTOOLS not in closure, f"{service.package} depends on {DEVTOOLS} (per uv.lock)"
    for dev_only in ("pytest", "ruff", "mypy"):
        assert dev_only not in closure, f"{service.package} pulls {dev_only} at runtime"

    stages = dockerfile_stages(REPO_ROOT / service.dockerfile, service.build_args)
    copied = _copied(service)
    assert not [c for c in copied if c == "tools" or c.startswith(("tools/", "."))], copied
    runs = [i.args for stage in stages for i in stage.instructions if i.keyword == "RUN"]
    for run in (r for r in runs if "uv " in r):
        for flag in ("--dev", "--all-packages", "--all-groups", "--group", "--all-extras"):
            assert f"{flag} " not in f"{run} ", f"`{run}` installs {flag}"
    assert not any("tools" in r.split() for r in runs)
    assert DOCKERIGNORE.excluded("tools/src/orderlens_devtools/__init__.py")
    assert DOCKERIGNORE.excluded("tools/pyproject.toml")


def test_the_closure_walk_finds_devtools_where_it_is_a_dependency() -> None:
    """The walk above bites: the dev tooling package itself depends on the library, and a
    package that depends on the dev tooling is caught."""
    packages = _lock_packages()
    assert "orderlens" in _runtime_closure(DEVTOOLS, packages)
    packages["orderlens-probe"] = {"name": "orderlens-probe", "dependencies": [{"name": DEVTOOLS}]}
    assert DEVTOOLS in _runtime_closure("orderlens-probe", packages)


def _copy_sources() -> Iterator[tuple[str, int, str]]:
    for service in SERVICES.values():
        for stage in dockerfile_stages(REPO_ROOT / service.dockerfile, service.build_args):
            for ins in stage.instructions:
                if ins.keyword in {"COPY", "ADD"}:
                    flags, words = split_args(ins.args)
                    if "from" in flags:
                        continue
                    for source in words[:-1]:
                        yield service.dockerfile, ins.line, source


@pytest.mark.parametrize(
    ("dockerfile", "line", "source"), list(_copy_sources()), ids=lambda v: str(v)
)
def test_copy_sources_exist_in_the_build_context(dockerfile: str, line: int, source: str) -> None:
    """Every COPY source exists in the repository (the build context) and is not excluded by
    .dockerignore: otherwise `docker build` fails with "not found"."""
    files = context_files(REPO_ROOT, source)
    assert files, f"{dockerfile}:{line}: COPY source {source!r} does not exist"
    sent = [f for f in files if not dockerignore_for(dockerfile).excluded(f)]
    assert sent, f"{dockerfile}:{line}: {source!r} is excluded by its .dockerignore"
    if (REPO_ROOT / source).is_file():
        assert sent == files


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/unit/deploy/test_deploy_docker.py",
        "docs/running-in-production.md",
        "shared/src/orderlens/__pycache__/x.cpython-311.pyc",
        "deploy/local/mongo/Launcher.java",
        "var/kafka/data",
        ".orderlens/state",
    ):
        assert DOCKERIGNORE.excluded(path), f"{path} would be sent to the Docker daemon"
    for path in (
        "uv.lock",
        "shared/src/orderlens/__init__.py",
        "services/query-api/pyproject.toml",
    ):
        assert not DOCKERIGNORE.excluded(path)


def test_dockerignore_matcher_semantics() -> None:
    """The matcher used above follows BuildKit's rules (last match wins, `!` re-includes)."""
    ignore = DockerIgnore(Path("/nonexistent"))
    ignore.rules = DockerIgnore(REPO_ROOT / ".dockerignore").rules
    assert ignore.excluded("README.md")
    assert not ignore.excluded("services/exporter/src/orderlens_exporter/__init__.py")
    assert ignore.excluded("services/exporter/tests/test_x.py")
    assert ignore.excluded("services/exporter/src/orderlens_exporter/__pycache__/a.pyc")


# ---------------------------------------------------------------------------------------------
# The probe script itself
# ---------------------------------------------------------------------------------------------
def _load_probe() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orderlens_healthcheck", HEALTHCHECK_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_healthcheck_script_reports_health(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = _load_probe()
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HTTP_PORT", str(server.server_address[1]))
        monkeypatch.setattr("sys.argv", ["healthcheck.py", "/healthz"])
        assert probe.main() == 0
        monkeypatch.setattr("sys.argv", ["healthcheck.py", "/readyz"])
        assert probe.main() == 1
    finally:
        server.shutdown()
        server.server_close()


def test_healthcheck_script_fails_when_nothing_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    probe = _load_probe()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PORT", str(port))
    monkeypatch.setattr("sys.argv", ["healthcheck.py"])
    assert probe.main() == 1
    assert os.environ["HTTP_PORT"] == str(port)


def test_console_image_carries_its_templates_and_static_assets() -> None:
    """The console renders templates and serves static files from its package directory: the
    image's COPY of services/console/src must send them (not drop them in .dockerignore)."""
    console = SERVICES["console"]
    sources = f"{console.package_dir}/src"
    assert sources in _copied(console)
    files = context_files(REPO_ROOT, sources)
    package = f"{sources}/orderlens_console"
    for wanted in ("templates/orders.html", "static/live.js", "static/vendor/chart.umd.min.js"):
        assert f"{package}/{wanted}" in files, wanted
        assert not DOCKERIGNORE.excluded(f"{package}/{wanted}"), wanted
