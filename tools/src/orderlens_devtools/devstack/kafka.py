"""Apache Kafka as a single KRaft node (broker + controller), run from Maven Central jars."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from orderlens_devtools.devstack import paths, proc
from orderlens_devtools.devstack.aio import run_sync
from orderlens_devtools.devstack.errors import DevStackError
from orderlens_devtools.devstack.server import JarInstall, ServerProcess, fetch_jars, pom_property

log = logging.getLogger("orderlens_devtools.devstack")

#: Default JVM options; `ORDERLENS_KAFKA_JAVA_OPTS` is appended (e.g. "-Xmx1g").
JAVA_OPTS = (
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)

_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.kafka.storage=WARN
log4j.logger.kafka.coordinator=WARN
log4j.logger.org.apache.kafka.coordinator=WARN
log4j.logger.kafka.cluster.Partition=WARN
log4j.logger.kafka.server.ReplicaFetcherManager=WARN
log4j.logger.kafka.server.ReplicaAlterLogDirsManager=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.org.apache.kafka.image=WARN
log4j.logger.org.apache.kafka.metadata=WARN
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.org.apache.kafka.clients.admin.AdminClientConfig=WARN
"""


def pom_path() -> Path:
    return paths.deploy_dir() / "kafka" / "pom.xml"


def kafka_version() -> str:
    """The Kafka version named by `deploy/local/kafka/pom.xml`."""
    return pom_property(pom_path(), "kafka.version")


class KafkaInstall(JarInstall):
    """Fetched Kafka jars and the java executable to run them with."""


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise DevStackError(
            "java not found: install a JDK >= 17 (e.g. apt-get install default-jdk)"
        )
    return found


def install_dir(cache: Path | None = None) -> Path:
    """Cache directory for the jars, keyed by the Kafka version and the pom's content."""
    key = hashlib.sha256(pom_path().read_bytes()).hexdigest()[:12]
    return (cache or paths.cache_dir()) / "kafka" / f"{kafka_version()}-{key}"


def is_provisioned(cache: Path | None = None) -> bool:
    return (install_dir(cache) / ".complete").is_file()


def provision_kafka(cache: Path | None = None) -> KafkaInstall:
    """Fetch the Kafka jars once (Maven) into the cache; later calls return at once."""
    java = find_java()
    target = install_dir(cache)
    version = kafka_version()
    fetch_jars(pom_path(), target, what="Kafka", marker_jar="kafka_2.13-*.jar", version=version)
    return KafkaInstall(libs_dir=target / "libs", java=java, version=version)


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaServer(ServerProcess):
    """One single-node KRaft Kafka whose config, data, pid record and log live under `home`."""

    label: ClassVar[str] = "Kafka"
    record_name: ClassVar[str] = "kafka.pid.json"
    port_settings: ClassVar[str] = "ORDERLENS_KAFKA_PORT / --kafka-port"
    health_poll_seconds: ClassVar[float] = 0.5
    abort_seconds: ClassVar[float] = 10.0

    home: Path
    log_file: Path
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    partitions: int = 3

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return self.bootstrap_servers

    @property
    def config_file(self) -> Path:
        return self.home / "server.properties"

    def ports(self) -> tuple[int, ...]:
        return (self.port, self.controller_port)

    def healthy(self) -> bool:
        return kafka_healthy(self.bootstrap_servers)

    def record_info(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "controller_port": self.controller_port,
        }

    def server_properties(self) -> str:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": str(self.partitions),
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.retention.hours": "168",
            "log.segment.bytes": str(64 * 1024 * 1024),
            "log.cleaner.threads": "1",
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
        }
        lines = ["# Written by orderlens_devtools.devstack; regenerated on every start."]
        lines += [f"{key}={value}" for key, value in props.items()]
        return "\n".join(lines) + "\n"

    def _java(self, install: KafkaInstall, main_class: str, *args: str) -> list[str]:
        extra = shlex.split(os.environ.get("ORDERLENS_KAFKA_JAVA_OPTS", ""))
        log4j = (self.home / "log4j.properties").as_uri()
        return [
            install.java,
            *JAVA_OPTS,
            *extra,
            f"-Dlog4j.configuration={log4j}",
            "-cp",
            install.classpath,
            main_class,
            *args,
        ]

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.server_properties())
        (self.home / "log4j.properties").write_text(_LOG4J)

    def _format(self, install: KafkaInstall) -> None:
        if (self.data_dir / "meta.properties").is_file():
            return
        log.info("formatting Kafka storage in %s", self.data_dir)
        cmd = self._java(
            install,
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            _cluster_id(),
            "--config",
            str(self.config_file),
            "--ignore-formatted",
        )
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise DevStackError(f"Kafka storage format failed:\n{result.stdout}{result.stderr}")

    def start(self, install: KafkaInstall, *, timeout: float = 120.0) -> proc.ProcessRecord:
        """Start the broker unless it runs already, then wait until it serves metadata."""

        def command() -> list[str]:
            self._write_config()
            self._format(install)
            return self._java(install, "kafka.Kafka", str(self.config_file))

        return self.launch(command, timeout=timeout)


async def kafka_metadata_ok(bootstrap_servers: str, request_timeout: float = 5.0) -> bool:
    """True when the broker answers a metadata request listing at least one broker."""
    from aiokafka.client import AIOKafkaClient
    from aiokafka.errors import KafkaError

    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=int(request_timeout * 1000),
        metadata_max_age_ms=5000,
    )
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except (KafkaError, OSError):
        return False
    finally:
        await client.close()


def kafka_healthy(bootstrap_servers: str, timeout: float = 5.0) -> bool:
    """Blocking variant of :func:`kafka_metadata_ok`."""
    return run_sync(lambda: kafka_metadata_ok(bootstrap_servers, timeout))
