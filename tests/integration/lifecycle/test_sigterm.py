"""Every worker service stops promptly on SIGTERM, also while it waits for MongoDB at start-up
(issue 17 #9): real subprocesses, a database address where nothing listens."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SERVICES = {
    "order-ingest": ("orderlens_ingest", "MongoDB not reachable at start-up"),
    "status-tracker": ("orderlens_tracker", "could not create the tracking_jobs indexes"),
    "exporter": ("orderlens_exporter", ""),
}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@pytest.mark.parametrize("service", list(SERVICES))
def test_sigterm_while_waiting_for_the_database_at_start_up(service: str, tmp_path: Path) -> None:
    module, retrying = SERVICES[service]
    dead = _closed_port()
    env = {
        **os.environ,
        "MONGODB_URI": f"mongodb://127.0.0.1:{dead}/?serverSelectionTimeoutMS=300",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": "0",
        "LOG_JSON": "false",
        "EXPORT_DIR": str(tmp_path),
    }
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        # Starting and retrying: wait until it says it is retrying (or has run for a while).
        deadline = time.monotonic() + 30
        while retrying not in log.read_text(errors="replace") or not retrying:
            assert process.poll() is None, log.read_text(errors="replace")
            if not retrying and time.monotonic() > deadline - 27:
                break
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code is not None
