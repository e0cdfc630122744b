"""Detached background processes with pid records, liveness checks, locks and ports."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orderlens_devtools.devstack.errors import DevStackError

# Runs in a throw-away interpreter so that the server is reparented to init: the caller never
# owns it (no zombie, no "subprocess is still running" warning) and it survives the caller.
_LAUNCHER = """
import json, os, subprocess, sys
spec = json.loads(sys.argv[1])
with open(spec["log"], "ab", buffering=0) as log:
    proc = subprocess.Popen(
        spec["argv"], cwd=spec["cwd"], stdin=subprocess.DEVNULL, stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
    )
sys.stdout.write(str(proc.pid))
sys.stdout.flush()
os._exit(0)
"""


@dataclass(frozen=True)
class ProcessRecord:
    """What a pid file says about a server process started by this module."""

    pid: int
    argv: list[str]
    start_ticks: str | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        payload = {
            "pid": self.pid,
            "argv": self.argv,
            "start_ticks": self.start_ticks,
            "info": self.info,
        }
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ProcessRecord | None:
        try:
            data = json.loads(path.read_text())
            return cls(
                pid=int(data["pid"]),
                argv=[str(a) for a in data.get("argv", [])],
                start_ticks=data.get("start_ticks"),
                info=dict(data.get("info", {})),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def alive(self) -> bool:
        """True when the recorded process still runs (and is the same process, not a reuse)."""
        if not pid_alive(self.pid):
            return False
        if self.start_ticks is None:
            return True
        return start_ticks(self.pid) in (None, self.start_ticks)


def start_ticks(pid: int) -> str | None:
    """The process start time in clock ticks since boot (Linux), to detect pid reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def pid_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    state = stat[stat.rfind(")") + 2 :].split(" ", 1)[0]
    if state in ("Z", "X"):
        # A zombie thread-group leader whose other threads are still exiting keeps its files
        # (listening sockets) open: count it as alive until they are gone.
        with contextlib.suppress(OSError):
            if len(os.listdir(f"/proc/{pid}/task")) > 1:
                return True
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def spawn_detached(
    argv: Sequence[str],
    *,
    log_file: Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
) -> ProcessRecord:
    """Start `argv` in its own session, stdout+stderr appended to `log_file`; return its record."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    spec = {"argv": list(argv), "cwd": str(cwd), "log": str(log_file)}
    try:
        out = subprocess.run(
            [sys.executable, "-I", "-c", _LAUNCHER, json.dumps(spec)],
            env=dict(env) if env is not None else None,
            capture_output=True,
            check=True,
            timeout=60,
        )
        pid = int(out.stdout.decode().strip())
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        raise DevStackError(f"could not start {argv[0]}: {exc}") from exc
    return ProcessRecord(pid=pid, argv=list(argv), start_ticks=start_ticks(pid))


def terminate(pid: int, *, timeout: float = 30.0, graceful: bool = True) -> None:
    """SIGTERM the process (group), wait up to `timeout` seconds, then SIGKILL it.

    With `graceful=False` it is SIGKILLed at once (a crash, as far as the server knows).
    """
    steps = [(signal.SIGTERM, timeout)] if graceful else []
    steps.append((signal.SIGKILL, 10.0))
    for sig, wait in steps:
        if not pid_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if _owns_group(pid):
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.05)
    if pid_alive(pid):
        raise DevStackError(f"process {pid} survived SIGKILL")


def _owns_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except OSError:
        return False


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) held for the duration of the block. Not reentrant."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def port_free_soon(host: str, port: int, within: float = 5.0) -> bool:
    """True once nothing listens on host:port, polling up to `within` seconds."""
    deadline = time.monotonic() + within
    while port_open(host, port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (the usual small race applies)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file (empty if it does not exist)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            data = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def rotate_log(path: Path, max_bytes: int = 20 * 1024 * 1024) -> None:
    """Move a log that grew past `max_bytes` to `<name>.1` (one generation kept)."""
    try:
        if path.stat().st_size > max_bytes:
            path.replace(path.with_name(path.name + ".1"))
    except OSError:
        pass


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    alive: Callable[[], bool] | None = None,
    log_file: Path | None = None,
    interval: float = 0.2,
) -> None:
    """Poll `check` until it is true; fail early if `alive` says the process died."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if alive is not None and not alive():
            raise DevStackError(f"{what}: the process exited\n{_log_hint(log_file)}")
        if time.monotonic() >= deadline:
            raise DevStackError(f"{what}: not ready after {timeout:.0f}s\n{_log_hint(log_file)}")
        time.sleep(interval)


def _log_hint(log_file: Path | None) -> str:
    if log_file is None:
        return ""
    return f"last lines of {log_file}:\n{tail(log_file)}"
