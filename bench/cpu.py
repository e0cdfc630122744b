"""CPU seconds of this process and of a local server, beside wall time.

On a shared machine wall time says as much about the neighbours as about the code measured: a
run's baseline went from 3.1 s to 10.5 s within minutes while neither side changed. CPU time
per process is what each side cost whatever else ran, so the throughput benchmarks report it
too. The server is found by the TCP port it listens on (Linux `/proc`); on another machine, or
for a remote server, its figure is left out.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path
from urllib.parse import urlsplit


def own_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def server_pid(uri_or_address: str) -> int | None:
    """The local process listening on the URI's (or `host:port`'s) port, if this machine has
    one and may look."""
    address = uri_or_address if "//" in uri_or_address else f"//{uri_or_address}"
    port = urlsplit(address.split(",")[0]).port
    if port is None:
        return None
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return int(pid)
        except OSError:
            continue
    return None


def process_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a process so far, or None."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by this process and the server between `start()` and `stop()`."""

    def __init__(self, server: str) -> None:
        self.pid = server_pid(server)
        self.own = 0.0
        self.server: float | None = None

    def start(self) -> None:
        self._own0 = own_seconds()
        self._server0 = process_seconds(self.pid)

    def stop(self) -> None:
        self.own = own_seconds() - self._own0
        end = process_seconds(self.pid)
        self.server = None if end is None or self._server0 is None else end - self._server0
