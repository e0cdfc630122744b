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
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from orderlens_devtools.devstack import paths, proc
from orderlens_devtools.devstack.kafka import find_java
from orderlens_devtools.devstack.server import JarInstall, ServerProcess, fetch_jars, pom_property

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
    return pom_property(source_dir() / "pom.xml", "mongo-java-server.version")


@dataclass(frozen=True)
class MongoInstall(JarInstall):
    """Fetched jars, the launcher source and the java executable to run them with."""

    launcher: Path


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
    fetch_jars(
        source_dir() / "pom.xml",
        target,
        what="mongo-java-server",
        marker_jar="mongo-java-server-*.jar",
        version=version,
        extra_files=(source_dir() / "Launcher.java",),
    )
    return MongoInstall(
        libs_dir=target / "libs", launcher=target / "Launcher.java", java=java, version=version
    )


@dataclass
class MongoServer(ServerProcess):
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

    label: ClassVar[str] = "mongo-java-server"
    record_name: ClassVar[str] = "mongo.pid.json"
    port_settings: ClassVar[str] = "ORDERLENS_MONGO_PORT / --mongo-port"
    port_poll_seconds: ClassVar[float] = 0.05

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    @property
    def address(self) -> str:
        return self.uri

    def healthy(self) -> bool:
        return mongo_healthy(self.uri)

    def record_info(self) -> dict[str, Any]:
        return {"uri": self.uri, "store": self.store}

    @property
    def store_file(self) -> Path:
        return self.data_dir / "orderlens.mv.db"

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
        """Start the server unless it runs already, then wait until it answers `ping`. A clean
        `stop()` (SIGTERM) lets the store commit and close; `graceful=False` loses its last
        uncommitted writes (module doc)."""

        def command() -> list[str]:
            install = self.install or provision_mongo()
            self.install = install
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return self.argv(install)

        return self.launch(command, timeout=timeout)

    def restart(self, *, graceful: bool = True) -> None:
        self.stop(graceful=graceful)
        self.start()

    async def astart(self) -> None:
        """`start()` without blocking the event loop."""
        await asyncio.to_thread(self.start)

    async def astop(self, *, graceful: bool = True) -> None:
        """`stop()` without blocking the event loop."""
        await asyncio.to_thread(self.stop, graceful=graceful)


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
