"""The dev stack's one server wrapper (`orderlens_devtools.devstack.server.ServerProcess`),
with a real process: a small HTTP server whose health check is a real request."""

from __future__ import annotations

import socket
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from orderlens_devtools.devstack import free_port
from orderlens_devtools.devstack.errors import DevStackError
from orderlens_devtools.devstack.proc import pid_alive
from orderlens_devtools.devstack.server import ServerProcess


@dataclass
class HttpServer(ServerProcess):
    home: Path
    log_file: Path
    host: str = "127.0.0.1"
    port: int = 0
    script: str = (
        "import http.server as h, sys; "
        "h.test(h.SimpleHTTPRequestHandler, port=int(sys.argv[1]), bind='127.0.0.1')"
    )

    label: ClassVar[str] = "test http server"
    record_name: ClassVar[str] = "http.pid.json"
    port_settings: ClassVar[str] = "the test's port"

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def healthy(self) -> bool:
        try:
            # Straight to the server: a proxy from the environment must not answer for it.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(self.address, timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def record_info(self) -> dict[str, Any]:
        return {"address": self.address}

    def start(self) -> int:
        self.home.mkdir(parents=True, exist_ok=True)
        record = self.launch(
            lambda: [sys.executable, "-c", self.script, str(self.port)], timeout=30
        )
        return record.pid


def test_a_server_is_started_recorded_found_again_and_stopped(tmp_path: Path) -> None:
    server = HttpServer(home=tmp_path / "http", log_file=tmp_path / "http.log", port=free_port())
    pid = server.start()
    try:
        assert server.healthy()
        record = server.running()
        assert record is not None
        assert record.pid == pid
        assert record.info == {"address": server.address}
        # Another wrapper on the same home finds the running server instead of starting one.
        again = HttpServer(home=server.home, log_file=server.log_file, port=server.port)
        assert again.start() == pid
    finally:
        assert server.stop(timeout=10)
    assert not pid_alive(pid)
    assert not server.record_file.exists()
    assert server.stop() is False


def test_a_port_in_use_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = HttpServer(home=tmp_path / "http", log_file=tmp_path / "http.log", port=port)
        with pytest.raises(DevStackError, match=f"port 127.0.0.1:{port} is in use"):
            server.start()
    assert not server.record_file.exists()


def test_a_server_that_exits_at_start_fails_with_its_log(tmp_path: Path) -> None:
    server = HttpServer(
        home=tmp_path / "http",
        log_file=tmp_path / "http.log",
        port=free_port(),
        script="import sys; print('cannot start: no config'); sys.exit(3)",
    )
    with pytest.raises(DevStackError, match=r"the process exited(.|\n)*cannot start: no config"):
        server.start()
    assert not server.record_file.exists()
