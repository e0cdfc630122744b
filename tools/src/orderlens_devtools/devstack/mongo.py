"""mongo-java-server 1.47 (MongoDB wire protocol on the JDK), run from Maven Central jars.

`deploy/local/mongo/pom.xml` names the jars, `deploy/local/mongo/Launcher.java` starts the
server (single-file source mode: no compile step). Two backends (docs/decisions/0080):

- `store=True` (the `make run` stack and tests that stop the server): the H2 MVStore file
  `<home>/data/orderlens.mv.db` with a large cache, so data survives a stop and a start. A
  SIGKILL loses writes acknowledged after the store's last background commit (measured: an
  `insert_one` acknowledged just before the kill was gone after the restart); a clean stop
  (SIGTERM) commits everything.
- `store=False` (the test session server, bench): the memory backend; nothing survives a stop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from orderlens_devtools.devstack import paths, proc
from orderlens_devtools.devstack.errors import DevStackError
from orderlens_devtools.devstack.kafka import find_java

log = logging.getLogger("orderlens_devtools.devstack")

#: Default JVM options; `ORDERLENS_MONGO_JAVA_OPTS` is appended (e.g. "-Xmx4g").
JAVA_OPTS = (
    "-Xms128m",
    "-Xmx2g",
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.MongoServer=info",
)

#: MVStore page cache of the persistent store, in MB. The default 16 MB makes a list query
#: at 100,000 orders re-read the file every time (14 s per list, 161 s to restart).
DEFAULT_CACHE_MB = 1024

_SOURCES = ("pom.xml", "Launcher.java")


def source_dir() -> Path:
    return paths.deploy_dir() / "mongo"


def server_version() -> str:
    """The mongo-java-server version named by `deploy/local/mongo/pom.xml`."""
    pom = (source_dir() / "pom.xml").read_text()
    match = re.search(r"<mongo-java-server\.version>([^<]+)</", pom)
    if match is None:
        raise DevStackError(f"no <mongo-java-server.version> in {source_dir() / 'pom.xml'}")
    return match.group(1).strip()


@dataclass(frozen=True)
class MongoInstall:
    """Fetched jars, the launcher source and the java executable to run them with."""

    libs_dir: Path
    launcher: Path
    java: str
    version: str

    @property
    def classpath(self) -> str:
        return f"{self.libs_dir}/*"


def install_dir(cache: Path | None = None) -> Path:
    """Cache directory for the jars, keyed by the pom's and the launcher's content."""
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update(name.encode())
        digest.update((source_dir() / name).read_bytes())
    key = digest.hexdigest()[:12]
    return (cache or paths.cache_dir()) / "mongo-java-server" / f"{server_version()}-{key}"


def is_provisioned(cache: Path | None = None) -> bool:
    return (install_dir(cache) / ".complete").is_file()


def provision_mongo(cache: Path | None = None) -> MongoInstall:
    """Fetch the server's jars once (Maven) into the cache; later calls return at once."""
    java = find_java()
    target = install_dir(cache)
    version = server_version()
    install = MongoInstall(
        libs_dir=target / "libs", launcher=target / "Launcher.java", java=java, version=version
    )
    if (target / ".complete").is_file():
        return install
    with proc.file_lock(target.parent / ".lock"):
        if (target / ".complete").is_file():
            return install
        mvn = os.environ.get("ORDERLENS_MVN") or shutil.which("mvn")
        if mvn is None:
            raise DevStackError("mvn not found: install Maven >= 3.6 (e.g. apt-get install maven)")
        tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        log.info("fetching mongo-java-server %s jars with Maven into %s", version, target)
        started = time.monotonic()
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(source_dir() / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp / 'libs'}",
            "-DincludeScope=runtime",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not list((tmp / "libs").glob("mongo-java-server-*.jar")):
            shutil.rmtree(tmp, ignore_errors=True)
            raise DevStackError(
                f"Maven could not fetch mongo-java-server ({' '.join(cmd)}):\n"
                f"{result.stdout}{result.stderr}"
            )
        shutil.copy2(source_dir() / "Launcher.java", tmp / "Launcher.java")
        (tmp / ".complete").write_text(f"{version}\n")
        shutil.rmtree(target, ignore_errors=True)
        tmp.replace(target)
        log.info("mongo-java-server jars fetched in %.1fs", time.monotonic() - started)
    return install


@dataclass
class MongoServer:
    """One mongo-java-server process whose store, pid record and log live under `home`.

    `stop()` and `start()` keep the port and, with `store=True`, the data, so a test can take
    the MongoDB-wire server away and bring it back.
    """

    home: Path
    log_file: Path
    install: MongoInstall | None = None
    host: str = "127.0.0.1"
    port: int = 27017
    store: bool = True
    cache_mb: int = DEFAULT_CACHE_MB

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def store_file(self) -> Path:
        return self.data_dir / "orderlens.mv.db"

    @property
    def record_file(self) -> Path:
        return self.home / "mongo.pid.json"

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

    def argv(self, install: MongoInstall) -> list[str]:
        extra = shlex.split(os.environ.get("ORDERLENS_MONGO_JAVA_OPTS", ""))
        args = [
            install.java,
            *JAVA_OPTS,
            *extra,
            "-cp",
            install.classpath,
            str(install.launcher),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        if self.store:
            args += ["--store", str(self.store_file), "--cache-mb", str(self.cache_mb)]
        return args

    def start(self, *, timeout: float = 120.0) -> proc.ProcessRecord:
        """Start the server unless it runs already, then wait until it answers `ping`."""
        record = self.running()
        if record is not None:
            return record
        install = self.install or provision_mongo()
        self.install = install
        if not proc.port_free_soon(self.host, self.port):
            raise DevStackError(
                f"port {self.host}:{self.port} is in use by another process; "
                "choose another port (ORDERLENS_MONGO_PORT / --mongo-port)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        proc.rotate_log(self.log_file)
        started = time.monotonic()
        spawned = proc.spawn_detached(self.argv(install), log_file=self.log_file, cwd=self.home)
        record = proc.ProcessRecord(
            pid=spawned.pid,
            argv=spawned.argv,
            start_ticks=spawned.start_ticks,
            info={"uri": self.uri, "store": self.store},
        )
        record.save(self.record_file)
        try:
            self.wait_healthy(timeout=timeout, record=record)
        except BaseException:
            proc.terminate(record.pid, timeout=5)
            self.record_file.unlink(missing_ok=True)
            raise
        log.info("mongo-java-server ready on %s in %.1fs", self.uri, time.monotonic() - started)
        return record

    def wait_healthy(
        self, *, timeout: float = 120.0, record: proc.ProcessRecord | None = None
    ) -> None:
        alive = record.alive if record is not None else None
        what = f"mongo-java-server on {self.uri}"
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

    def stop(self, *, timeout: float = 30.0, graceful: bool = True) -> bool:
        """Stop the server: SIGTERM (the store commits and closes), then SIGKILL after
        `timeout`; True if one was running. `graceful=False` SIGKILLs it at once, like a
        crash: the persistent store then loses its last uncommitted writes (module doc)."""
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
            raise DevStackError("stop the MongoDB-wire server before wiping its data")
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
