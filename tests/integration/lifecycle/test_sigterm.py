"""Every worker service stops promptly on SIGTERM, also while it waits for MongoDB at start-up
(issue 17 #9): real subprocesses, a database address where nothing listens."""

from __future__ import annotations

import os
import select
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
    "exporter": ("orderlens_exporter", "could not create the export indexes"),
    "notifier": ("orderlens_notifier", "MongoDB not reachable at start-up"),
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
    process = subprocess.Popen(
        [sys.executable, "-m", module], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    seen: list[str] = []
    try:
        # Starting and retrying: wait until it says it is retrying, reading its output as it
        # comes.
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "".join(seen)
            ready, _, _ = select.select([process.stdout], [], [], left)
            line = process.stdout.readline().decode(errors="replace") if ready else ""
            assert line or process.poll() is None, "".join(seen)
            seen.append(line)
            if line and retrying in line:
                break
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert code is not None
