"""scripts/run-stack stops the service, not only the `uv run` in front of it (issue 17 #10):
its own stop function, run against a real process group whose child ignores SIGTERM."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).parents[3] / "scripts" / "run-stack"


def _function(name: str) -> str:
    text = SCRIPT.read_text()
    match = re.search(rf"^{name}\(\) {{.*?^}}$", text, re.S | re.M)
    assert match, f"{name} not found in scripts/run-stack"
    return match.group(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    )
    return state != "Z"


def test_stop_reaches_the_service_behind_uv_run() -> None:
    # The leader stands for `uv run`; its child is the service, stuck and ignoring SIGTERM.
    # The child prints its pid once its trap is set; reading that line is the wait.
    leader = subprocess.Popen(
        [
            "setsid",
            "bash",
            "-c",
            "bash -c 'trap \"\" TERM; echo $$; while :; do sleep 0.1; done' & wait",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert leader.stdout is not None
    service = int(leader.stdout.readline())
    script = f"{_function('stop_group')}\nstop_group demo {leader.pid}\n"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    leader.wait(timeout=5)
    assert "demo" in done.stdout
    assert not _alive(service), "the service behind uv run is still running"
