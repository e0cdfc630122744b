"""What the local Kafka and mongo-java-server have in common: jars fetched once with Maven, and
a background process run as spawn → record its pid → wait for its port → wait until it is
healthy → stop.

`KafkaServer` and `MongoServer` say only what differs: how to prepare their home, their command
line, their health check and what their pid record notes.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from orderlens_devtools.devstack import proc
from orderlens_devtools.devstack.errors import DevStackError

log = logging.getLogger("orderlens_devtools.devstack")


def pom_property(pom: Path, name: str) -> str:
    """A `<properties>` value of a pom (the server versions are named there)."""
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom.read_text())
    if match is None:
        raise DevStackError(f"no <{name}> in {pom}")
    return match.group(1).strip()


@dataclass(frozen=True)
class JarInstall:
    """Fetched jars and the java executable to run them with."""

    libs_dir: Path
    java: str
    version: str

    @property
    def classpath(self) -> str:
        return f"{self.libs_dir}/*"


def fetch_jars(
    pom: Path,
    target: Path,
    *,
    what: str,
    marker_jar: str,
    version: str,
    extra_files: Sequence[Path] = (),
) -> None:
    """Fetch the runtime jars named by `pom` into `target/libs` once (Maven), atomically: a
    `.complete` file marks a finished fetch, a lock keeps concurrent sessions from racing, and
    a failed fetch leaves nothing behind. `marker_jar` (a glob) proves the fetch found the
    server; `extra_files` are copied beside `libs/`."""
    if (target / ".complete").is_file():
        return
    with proc.file_lock(target.parent / ".lock"):
        if (target / ".complete").is_file():
            return
        mvn = os.environ.get("ORDERLENS_MVN") or shutil.which("mvn")
        if mvn is None:
            raise DevStackError("mvn not found: install Maven >= 3.6 (e.g. apt-get install maven)")
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("fetching %s %s jars with Maven into %s", what, version, target)
        started = time.monotonic()
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp / 'libs'}",
            "-DincludeScope=runtime",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not list((tmp / "libs").glob(marker_jar)):
            shutil.rmtree(tmp, ignore_errors=True)
            raise DevStackError(
                f"Maven could not fetch {what} ({' '.join(cmd)}):\n{result.stdout}{result.stderr}"
            )
        for extra in extra_files:
            shutil.copy2(extra, tmp / extra.name)
        (tmp / ".complete").write_text(f"{version}\n")
        shutil.rmtree(target, ignore_errors=True)
        tmp.replace(target)
        log.info("%s jars fetched in %.1fs", what, time.monotonic() - started)


class ServerProcess:
    """A server process owned by the dev stack, whose pid record, data and log live under
    `home`. A subclass (a dataclass) has the fields `home`, `log_file`, `host` and `port`, and
    says what differs in the class variables and the methods marked below."""

    home: Path
    log_file: Path
    host: str
    port: int

    #: The server in messages ("Kafka", "mongo-java-server").
    label: ClassVar[str]
    #: The pid record's file name under `home`.
    record_name: ClassVar[str]
    #: Where a user chooses other ports, for the "port in use" message.
    port_settings: ClassVar[str]
    port_poll_seconds: ClassVar[float] = 0.2
    health_poll_seconds: ClassVar[float] = 0.2
    #: How long a server that never became healthy gets to stop before it is killed.
    abort_seconds: ClassVar[float] = 5.0

    # -- what differs ---------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """What clients connect to (bootstrap servers, a URI)."""
        raise NotImplementedError

    def ports(self) -> tuple[int, ...]:
        """Every port the server listens on (all must be free before it starts)."""
        return (self.port,)

    def healthy(self) -> bool:
        """True when the server answers its clients (the port alone is not enough)."""
        raise NotImplementedError

    def record_info(self) -> dict[str, Any]:
        """What the pid record notes besides the process, so that a later run finds the
        addresses of a server that runs already."""
        return {}

    # -- the same for every server --------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def record_file(self) -> Path:
        return self.home / self.record_name

    def running(self) -> proc.ProcessRecord | None:
        """The pid record of the running server, or None (a stale record is removed)."""
        record = proc.ProcessRecord.load(self.record_file)
        if record is None:
            return None
        if record.alive():
            return record
        self.record_file.unlink(missing_ok=True)
        return None

    def is_running(self) -> bool:
        return self.running() is not None

    def launch(
        self, command: Callable[[], list[str]], *, timeout: float = 120.0
    ) -> proc.ProcessRecord:
        """Start the server unless it runs already: check its ports, build its command line
        (`command` may prepare the home first), spawn it detached, record its pid and wait until
        it is healthy. A server that does not become healthy is stopped again."""
        record = self.running()
        if record is not None:
            return record
        for port in self.ports():
            if not proc.port_free_soon(self.host, port):
                raise DevStackError(
                    f"port {self.host}:{port} is in use by another process; "
                    f"choose other ports ({self.port_settings})"
                )
        argv = command()
        proc.rotate_log(self.log_file)
        started = time.monotonic()
        spawned = proc.spawn_detached(argv, log_file=self.log_file, cwd=self.home)
        record = proc.ProcessRecord(
            pid=spawned.pid,
            argv=spawned.argv,
            start_ticks=spawned.start_ticks,
            info=self.record_info(),
        )
        record.save(self.record_file)
        try:
            self.wait_healthy(timeout=timeout, record=record)
        except BaseException:
            proc.terminate(record.pid, timeout=self.abort_seconds)
            self.record_file.unlink(missing_ok=True)
            raise
        log.info("%s ready on %s in %.1fs", self.label, self.address, time.monotonic() - started)
        return record

    def wait_healthy(
        self, *, timeout: float = 120.0, record: proc.ProcessRecord | None = None
    ) -> None:
        """Wait for the port, then for the health check; fail early if `record`'s process
        exited (with the log's last lines)."""
        alive = record.alive if record is not None else None
        what = f"{self.label} on {self.address}"
        deadline = time.monotonic() + timeout
        proc.wait_until(
            lambda: proc.port_open(self.host, self.port),
            timeout=timeout,
            what=what,
            alive=alive,
            log_file=self.log_file,
            interval=self.port_poll_seconds,
        )
        proc.wait_until(
            self.healthy,
            timeout=max(1.0, deadline - time.monotonic()),
            what=what,
            alive=alive,
            log_file=self.log_file,
            interval=self.health_poll_seconds,
        )

    def stop(self, *, timeout: float = 30.0, graceful: bool = True) -> bool:
        """Stop the server: SIGTERM, then SIGKILL after `timeout`; True if one was running.
        `graceful=False` SIGKILLs it at once, like a crash."""
        record = self.running()
        if record is None:
            return False
        proc.terminate(record.pid, timeout=timeout, graceful=graceful)
        self.record_file.unlink(missing_ok=True)
        return True

    def wipe(self) -> None:
        """Delete the server's data (it must be stopped)."""
        if self.running() is not None:
            raise DevStackError(f"stop {self.label} before wiping its data")
        shutil.rmtree(self.data_dir, ignore_errors=True)
