"""The local stack: one Kafka and one mongo-java-server under a state directory, started detached.

Layout of a state directory (default `<repo>/.orderlens`, tests use `<repo>/.orderlens/test`):

    kafka/      server.properties, log4j.properties, data/, kafka.pid.json
    mongo/      data/orderlens.mv.db (H2 store; absent with the memory backend), mongo.pid.json
    logs/       kafka.log, mongo.log
    leases/     one file per process currently using a server (see `LocalStack.lease`)
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from orderlens_devtools.devstack import kafka, mongo, paths, proc
from orderlens_devtools.devstack.errors import DevStackError
from orderlens_devtools.devstack.server import ServerProcess
from orderlens_devtools.devstack.topics import SPEC_TOPICS, ensure_topics_sync

log = logging.getLogger("orderlens_devtools.devstack")

Component = Literal["kafka", "mongo"]
COMPONENTS: tuple[Component, ...] = ("kafka", "mongo")

DEFAULT_KAFKA_PORT = 9092
DEFAULT_MONGO_PORT = 27017
DEFAULT_PARTITIONS = 3
TEST_KAFKA_PORT = 19092
TEST_MONGO_PORT = 37017


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise DevStackError(f"{name}={raw!r} is not an integer") from exc


@dataclass(frozen=True)
class StackConfig:
    """Ports and directories of a local stack."""

    state_dir: Path
    cache_dir: Path
    host: str = "127.0.0.1"
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int | None = None  # default: kafka_port + 1
    mongo_port: int = DEFAULT_MONGO_PORT
    partitions: int = DEFAULT_PARTITIONS
    #: Persistent H2 store (data survives stop/start) or the memory backend (tests, bench).
    mongo_store: bool = True

    @classmethod
    def from_env(
        cls,
        *,
        state_dir: Path | None = None,
        kafka_port: int | None = None,
        mongo_port: int | None = None,
        partitions: int | None = None,
    ) -> StackConfig:
        """Explicit arguments, else `ORDERLENS_KAFKA_PORT` / `ORDERLENS_MONGO_PORT` /
        `ORDERLENS_KAFKA_CONTROLLER_PORT` / `ORDERLENS_PARTITIONS` / `ORDERLENS_STATE_DIR` /
        `ORDERLENS_CACHE_DIR`, else the defaults (9092, 27017, 3 partitions)."""
        controller = os.environ.get("ORDERLENS_KAFKA_CONTROLLER_PORT")
        return cls(
            state_dir=(state_dir or paths.default_state_dir()).resolve(),
            cache_dir=paths.cache_dir(),
            kafka_port=kafka_port or _env_int("ORDERLENS_KAFKA_PORT", DEFAULT_KAFKA_PORT),
            kafka_controller_port=int(controller) if controller else None,
            mongo_port=mongo_port or _env_int("ORDERLENS_MONGO_PORT", DEFAULT_MONGO_PORT),
            partitions=partitions or _env_int("ORDERLENS_PARTITIONS", DEFAULT_PARTITIONS),
        )

    @classmethod
    def for_tests(cls) -> StackConfig:
        """The test suite's own stack: `<state dir>/test`, ports 19092 (+19093) and 37017
        (`ORDERLENS_TEST_KAFKA_PORT` / `ORDERLENS_TEST_MONGO_PORT`), so it never collides with
        a running dev stack. Its MongoDB-wire server uses the memory backend: no test needs
        the session server's data to outlive it (`mongo_server` gives a restartable one)."""
        return cls(
            state_dir=paths.default_state_dir() / "test",
            cache_dir=paths.cache_dir(),
            kafka_port=_env_int("ORDERLENS_TEST_KAFKA_PORT", TEST_KAFKA_PORT),
            mongo_port=_env_int("ORDERLENS_TEST_MONGO_PORT", TEST_MONGO_PORT),
            partitions=_env_int("ORDERLENS_PARTITIONS", DEFAULT_PARTITIONS),
            mongo_store=False,
        )

    def with_ports(
        self, *, kafka_port: int | None = None, mongo_port: int | None = None
    ) -> StackConfig:
        return replace(
            self,
            kafka_port=kafka_port or self.kafka_port,
            mongo_port=mongo_port or self.mongo_port,
        )


@dataclass(frozen=True)
class ServerStatus:
    """What `status` knows about one server."""

    name: Component
    running: bool
    address: str  # bootstrap servers for Kafka, URI for MongoDB
    pid: int | None = None
    log_file: Path | None = None
    provisioned: bool = False


@dataclass(frozen=True)
class StackStatus:
    kafka: ServerStatus
    mongo: ServerStatus
    state_dir: Path
    servers: tuple[ServerStatus, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "servers", (self.kafka, self.mongo))

    @property
    def all_running(self) -> bool:
        return self.kafka.running and self.mongo.running


class LocalStack:
    """Provision, start, stop and inspect the locally run Kafka and mongo-java-server."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig.from_env()
        state = self.config.state_dir
        self.logs_dir = state / "logs"
        self.kafka = kafka.KafkaServer(
            home=state / "kafka",
            log_file=self.logs_dir / "kafka.log",
            host=self.config.host,
            port=self.config.kafka_port,
            controller_port=self.config.kafka_controller_port or self.config.kafka_port + 1,
            partitions=self.config.partitions,
        )
        self.mongo = mongo.MongoServer(
            home=state / "mongo",
            log_file=self.logs_dir / "mongo.log",
            host=self.config.host,
            port=self.config.mongo_port,
            store=self.config.mongo_store,
        )
        self._lock_file = state / "stack.lock"
        self._adopt_running_addresses()

    def _adopt_running_addresses(self) -> None:
        """Report the addresses of servers that run already (they may use other ports)."""
        record = self.kafka.running()
        if record is not None and "bootstrap_servers" in record.info:
            host, _, port = str(record.info["bootstrap_servers"]).rpartition(":")
            self.kafka.host, self.kafka.port = host, int(port)
            self.kafka.controller_port = int(
                record.info.get("controller_port", self.kafka.port + 1)
            )
        record = self.mongo.running()
        if record is not None and "uri" in record.info:
            hostport = str(record.info["uri"]).removeprefix("mongodb://").rstrip("/")
            host, _, port = hostport.rpartition(":")
            self.mongo.host, self.mongo.port = host, int(port)

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka.bootstrap_servers

    @property
    def mongodb_uri(self) -> str:
        return self.mongo.uri

    # -- provisioning ---------------------------------------------------------------------------

    def provision(self, components: tuple[Component, ...] = COMPONENTS) -> None:
        """Fetch the Kafka and mongo-java-server jars, once (cached under the cache dir)."""
        if "kafka" in components:
            kafka.provision_kafka(self.config.cache_dir)
        if "mongo" in components:
            self.mongo.install = mongo.provision_mongo(self.config.cache_dir)

    # -- one server at a time -------------------------------------------------------------------

    def start_kafka(self, *, create_topics: bool = False) -> None:
        with proc.file_lock(self._lock_file):
            self._start_kafka_locked()
        if create_topics:
            self.create_spec_topics()

    def _start_kafka_locked(self) -> None:
        install = kafka.provision_kafka(self.config.cache_dir)
        self.kafka.start(install)

    def stop_kafka(self) -> bool:
        with proc.file_lock(self._lock_file):
            return self.kafka.stop()

    def start_mongo(self) -> None:
        """Start the MongoDB-wire server (same data directory and port as before)."""
        with proc.file_lock(self._lock_file):
            self._start_mongo_locked()

    def _start_mongo_locked(self) -> None:
        if self.mongo.install is None:
            self.mongo.install = mongo.provision_mongo(self.config.cache_dir)
        self.mongo.start()

    def stop_mongo(self, *, graceful: bool = True) -> bool:
        """Stop the MongoDB-wire server (`graceful=False`: SIGKILL); its data stays for
        `start_mongo()` (a SIGKILL loses the store's last writes, docs/decisions/0080)."""
        with proc.file_lock(self._lock_file):
            return self.mongo.stop(graceful=graceful)

    def restart_mongo(self, *, graceful: bool = True) -> None:
        self.stop_mongo(graceful=graceful)
        self.start_mongo()

    def create_spec_topics(self, partitions: int | None = None) -> list[str]:
        """Create the docs/contract.md §3.1 topics (default names) if missing; answer those
        created."""
        return ensure_topics_sync(
            self.bootstrap_servers,
            SPEC_TOPICS.values(),
            partitions=partitions or self.config.partitions,
        )

    # -- the whole stack ------------------------------------------------------------------------

    def up(
        self, components: tuple[Component, ...] = COMPONENTS, *, create_topics: bool = True
    ) -> StackStatus:
        """Start what is not running yet (idempotent) and wait until it is healthy."""
        with proc.file_lock(self._lock_file):
            if "mongo" in components:
                self._start_mongo_locked()
            if "kafka" in components:
                self._start_kafka_locked()
        if "kafka" in components and create_topics:
            self.create_spec_topics()
        return self.status()

    def down(self, *, wipe: bool = False) -> StackStatus:
        """Stop both servers; with `wipe`, delete their data too."""
        with proc.file_lock(self._lock_file):
            self.kafka.stop()
            self.mongo.stop()
            if wipe:
                self.kafka.wipe()
                self.mongo.wipe()
        return self.status()

    def status(self) -> StackStatus:
        cache = self.config.cache_dir
        return StackStatus(
            kafka=_server_status("kafka", self.kafka, kafka.is_provisioned(cache)),
            mongo=_server_status("mongo", self.mongo, mongo.is_provisioned(cache)),
            state_dir=self.config.state_dir,
        )

    # -- shared use by concurrent processes (test sessions) -------------------------------------

    @contextlib.contextmanager
    def lease(self, component: Component, *, keep: bool | None = None) -> Iterator[LocalStack]:
        """Use one server for the duration of the block, sharing it with other processes.

        Starts the server if it is not running. On exit the server is stopped only when no
        other live process holds a lease on it and `keep` is false (default: the
        `ORDERLENS_KEEP_SERVERS` environment variable, "1" keeps the servers running).
        """
        if keep is None:
            keep = os.environ.get("ORDERLENS_KEEP_SERVERS", "") not in ("", "0", "false")
        lease_dir = self.config.state_dir / "leases" / component
        lease_file = lease_dir / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        with proc.file_lock(self._lock_file):
            lease_dir.mkdir(parents=True, exist_ok=True)
            lease_file.write_text(f"{os.getpid()}\n")
            try:
                if component == "kafka":
                    self._start_kafka_locked()
                else:
                    self._start_mongo_locked()
            except BaseException:
                lease_file.unlink(missing_ok=True)
                raise
        try:
            yield self
        finally:
            with proc.file_lock(self._lock_file):
                lease_file.unlink(missing_ok=True)
                others = _live_leases(lease_dir)
                if not others and not keep:
                    started = time.monotonic()
                    stopped = self.kafka.stop() if component == "kafka" else self.mongo.stop()
                    if stopped:
                        log.info("stopped %s in %.1fs", component, time.monotonic() - started)


def _server_status(name: Component, server: ServerProcess, provisioned: bool) -> ServerStatus:
    record = server.running()
    return ServerStatus(
        name=name,
        running=record is not None,
        address=server.address,
        pid=record.pid if record else None,
        log_file=server.log_file,
        provisioned=provisioned,
    )


def _live_leases(lease_dir: Path) -> list[Path]:
    live: list[Path] = []
    for entry in lease_dir.glob("*"):
        try:
            pid = int(entry.name.split("-", 1)[0])
        except ValueError:
            entry.unlink(missing_ok=True)
            continue
        if proc.pid_alive(pid):
            live.append(entry)
        else:
            entry.unlink(missing_ok=True)
    return live
