"""FerretDB 1.24 (MongoDB wire protocol over SQLite), embedded in a small Go program."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from orderlens.devstack import paths, proc
from orderlens.devstack.errors import DevStackError

log = logging.getLogger("orderlens.devstack")

_SOURCES = ("go.mod", "go.sum", "main.go")
BINARY_NAME = "ferretdb-local"


def source_dir() -> Path:
    return paths.deploy_dir() / "ferretdb"


def binary_path(cache: Path | None = None) -> Path:
    """Where the built program is cached, keyed by its sources and the platform."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update(name.encode())
        digest.update((source_dir() / name).read_bytes())
    digest.update(f"{platform.system()}-{platform.machine()}".encode())
    return (cache or paths.cache_dir()) / "ferretdb" / digest.hexdigest()[:12] / BINARY_NAME


def is_provisioned(cache: Path | None = None) -> bool:
    return os.access(binary_path(cache), os.X_OK)


def provision_ferretdb(cache: Path | None = None) -> Path:
    """Build the FerretDB program once (`go build`) into the cache; return the binary path."""
    target = binary_path(cache)
    if os.access(target, os.X_OK):
        return target
    with proc.file_lock(target.parent.parent / ".lock"):
        if os.access(target, os.X_OK):
            return target
        go = os.environ.get("ORDERLENS_GO") or shutil.which("go")
        if go is None:
            raise DevStackError("go not found: install Go >= 1.24 (https://go.dev/dl/)")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{BINARY_NAME}.tmp-{os.getpid()}")
        log.info("building FerretDB into %s (go build, first time only)", target)
        started = time.monotonic()
        env = {**os.environ, "CGO_ENABLED": "0"}
        nice = shutil.which("nice")
        cmd = [
            *([nice, "-n", "10"] if nice else []),
            go,
            "build",
            "-trimpath",
            "-buildvcs=false",
            "-ldflags=-s -w",
            "-o",
            str(tmp),
            ".",
        ]
        result = subprocess.run(
            cmd,
            cwd=source_dir(),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise DevStackError(
                f"go build of FerretDB failed ({' '.join(cmd)}):\n{result.stdout}{result.stderr}"
            )
        tmp.replace(target)
        log.info("FerretDB built in %.1fs", time.monotonic() - started)
    return target


@dataclass
class FerretDBServer:
    """One FerretDB process whose SQLite data, pid record and log live under `home`.

    `stop()` and `start()` keep the data directory and the port, so a test can take the
    MongoDB-wire server away and bring it back.
    """

    home: Path
    log_file: Path
    binary: Path | None = None
    host: str = "127.0.0.1"
    port: int = 27017

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def record_file(self) -> Path:
        return self.home / "ferretdb.pid.json"

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

    def start(self, *, timeout: float = 60.0) -> proc.ProcessRecord:
        """Start the server unless it runs already, then wait until it answers `ping`."""
        record = self.running()
        if record is not None:
            return record
        binary = self.binary or provision_ferretdb()
        if not proc.port_free_soon(self.host, self.port):
            raise DevStackError(
                f"port {self.host}:{self.port} is in use by another process; "
                "choose another port (ORDERLENS_MONGO_PORT / --mongo-port)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        proc.rotate_log(self.log_file)
        started = time.monotonic()
        spawned = proc.spawn_detached(
            [
                str(binary),
                "-listen-addr",
                f"{self.host}:{self.port}",
                "-sqlite-dir",
                str(self.data_dir),
            ],
            log_file=self.log_file,
            cwd=self.home,
        )
        record = proc.ProcessRecord(
            pid=spawned.pid,
            argv=spawned.argv,
            start_ticks=spawned.start_ticks,
            info={"uri": self.uri},
        )
        record.save(self.record_file)
        try:
            self.wait_healthy(timeout=timeout, record=record)
        except BaseException:
            proc.terminate(record.pid, timeout=5)
            self.record_file.unlink(missing_ok=True)
            raise
        log.info("FerretDB ready on %s in %.1fs", self.uri, time.monotonic() - started)
        return record

    def wait_healthy(
        self, *, timeout: float = 60.0, record: proc.ProcessRecord | None = None
    ) -> None:
        alive = record.alive if record is not None else None
        what = f"FerretDB on {self.uri}"
        deadline = time.monotonic() + timeout
        proc.wait_until(
            lambda: proc.port_open(self.host, self.port),
            timeout=timeout,
            what=what,
            alive=alive,
            log_file=self.log_file,
            interval=0.05,
        )
        proc.wait_until(
            lambda: mongo_healthy(self.uri),
            timeout=max(1.0, deadline - time.monotonic()),
            what=what,
            alive=alive,
            log_file=self.log_file,
        )

    def stop(self, *, timeout: float = 15.0, graceful: bool = True) -> bool:
        """Stop the server: SIGTERM, then SIGKILL after `timeout`; True if one was running.

        A graceful stop gives open client connections up to 3 s to finish (FerretDB's own
        delay). `graceful=False` SIGKILLs it at once, like a crash; committed writes survive.
        """
        record = self.running()
        if record is None:
            return False
        proc.terminate(record.pid, timeout=timeout, graceful=graceful)
        self.record_file.unlink(missing_ok=True)
        return True

    def restart(self, *, graceful: bool = True) -> None:
        self.stop(graceful=graceful)
        self.start()

    async def astart(self) -> None:
        """`start()` without blocking the event loop."""
        await asyncio.to_thread(self.start)

    async def astop(self, *, graceful: bool = True) -> None:
        """`stop()` without blocking the event loop."""
        await asyncio.to_thread(self.stop, graceful=graceful)

    def wipe(self) -> None:
        """Delete the server's data (it must be stopped)."""
        if self.running() is not None:
            raise DevStackError("stop FerretDB before wiping its data")
        shutil.rmtree(self.data_dir, ignore_errors=True)


def mongo_healthy(uri: str, timeout: float = 2.0) -> bool:
    """True when the server at `uri` answers `ping`."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    ms = int(timeout * 1000)
    client: MongoClient[dict[str, object]] = MongoClient(
        uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()
