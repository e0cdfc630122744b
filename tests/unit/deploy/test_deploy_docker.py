"""Dockerfiles and .dockerignore, checked statically (no Docker engine on these machines)."""

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
    SERVICES,
    DockerIgnore,
    Service,
    context_files,
    dockerfile_stages,
    parse_dockerfile,
    split_args,
)

pytestmark = pytest.mark.unit

HEALTHCHECK_SCRIPT = REPO_ROOT / "deploy/docker/healthcheck.py"
DOCKERIGNORE = DockerIgnore(REPO_ROOT / ".dockerignore")


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
    stages = dockerfile_stages(path)
    assert len(stages) >= 2, "expected a multi-stage build (builder + runtime)"
    runtime = stages[-1]
    assert runtime.base == "python:3.11-slim", f"runtime base is {runtime.base!r}"
    builder_bases = {s.base for s in stages if s.name == "builder"}
    assert builder_bases == {"python:3.11-slim"}, (
        "the builder must use the runtime's Python image, or the venv's interpreter links break"
    )


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_dockerfile_installs_from_the_lock_with_uv(service: Service) -> None:
    stages = dockerfile_stages(REPO_ROOT / service.dockerfile)
    runs = [i.args for s in stages for i in s.instructions if i.keyword == "RUN"]
    syncs = [r for r in runs if "uv sync" in r]
    assert syncs, "no `uv sync` in the Dockerfile"
    for run in syncs:
        for flag in ("--frozen", "--no-dev", f"--package {service.package}"):
            assert flag in run, f"`{run}` lacks {flag}"
    assert any("--no-editable" in r for r in syncs), "the final sync must be --no-editable"
    assert not any("pip install" in r for r in runs), "install with uv from uv.lock only"


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_dockerfile_copies_every_workspace_manifest(service: Service) -> None:
    """uv reads the whole workspace even with --package: every member's pyproject.toml."""
    copied = set()
    for ins in parse_dockerfile(REPO_ROOT / service.dockerfile):
        if ins.keyword == "COPY":
            flags, words = split_args(ins.args)
            if "from" not in flags:
                copied.update(words[:-1])
    missing = [
        f"{member}/pyproject.toml"
        for member in _workspace_members()
        if f"{member}/pyproject.toml" not in copied
    ]
    assert not missing, f"not copied: {missing}"
    assert {"pyproject.toml", "uv.lock"} <= copied
    assert f"{service.package_dir}/src" in copied


@pytest.mark.parametrize("service", dockerfiles(), ids=lambda s: s.name)
def test_runtime_stage_is_non_root_with_healthcheck(service: Service) -> None:
    runtime = dockerfile_stages(REPO_ROOT / service.dockerfile)[-1]
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
    runtime = dockerfile_stages(REPO_ROOT / service.dockerfile)[-1]
    entrypoints = [i.args for i in runtime.instructions if i.keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    _, words = split_args(entrypoints[0])
    assert words[0] == service.script
    project = tomllib.loads(
        (REPO_ROOT / service.package_dir / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]
    assert project["name"] == service.package
    assert service.script in project.get("scripts", {}), (
        f"{service.package} declares no console script {service.script!r}"
    )
    module_name, _, attribute = project["scripts"][service.script].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            pytest.skip(f"{module_name} (the entry point of {service.script}) is not written yet")
        raise
    assert callable(getattr(module, attribute, None)), f"{module_name}:{attribute} is not callable"
    if service.name == "carrier-simulator":
        assert words[1:] == ["carrier-simulator"]
        cmd = [i.args for i in runtime.instructions if i.keyword == "CMD"]
        assert cmd, "the simulator needs its --port"
        assert split_args(cmd[-1])[1] == ["--port", str(service.port)]


def _copy_sources() -> Iterator[tuple[str, int, str]]:
    for service in SERVICES.values():
        for ins in parse_dockerfile(REPO_ROOT / service.dockerfile):
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
    sent = [f for f in files if not DOCKERIGNORE.excluded(f)]
    assert sent, f"{dockerfile}:{line}: {source!r} is excluded by .dockerignore"
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
