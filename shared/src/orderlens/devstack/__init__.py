"""Real servers for development and tests, without Docker.

Apache Kafka (single KRaft node, jars fetched from Maven Central, run on the local JDK) and
FerretDB 1.24 (MongoDB wire protocol over SQLite, embedded in a small Go program) are
provisioned once into `ORDERLENS_CACHE_DIR` (default `~/.cache/orderlens`) and run as detached
background processes with their state under `ORDERLENS_STATE_DIR` (default
`<repo>/.orderlens`). See `orderlens dev --help` and docs/decisions/0002.
"""

from __future__ import annotations

from orderlens.devstack.docker import docker_engine_available
from orderlens.devstack.errors import DevStackError
from orderlens.devstack.ferretdb import FerretDBServer, mongo_healthy, provision_ferretdb
from orderlens.devstack.kafka import KafkaInstall, KafkaServer, kafka_healthy, provision_kafka
from orderlens.devstack.paths import cache_dir, default_state_dir, repo_root
from orderlens.devstack.proc import free_port
from orderlens.devstack.stack import (
    COMPONENTS,
    Component,
    LocalStack,
    ServerStatus,
    StackConfig,
    StackStatus,
)
from orderlens.devstack.topics import (
    SPEC_TOPICS,
    TopicNames,
    delete_topics,
    ensure_topics,
    ensure_topics_sync,
)

__all__ = [
    "COMPONENTS",
    "SPEC_TOPICS",
    "Component",
    "DevStackError",
    "FerretDBServer",
    "KafkaInstall",
    "KafkaServer",
    "LocalStack",
    "ServerStatus",
    "StackConfig",
    "StackStatus",
    "TopicNames",
    "cache_dir",
    "default_state_dir",
    "delete_topics",
    "docker_engine_available",
    "ensure_topics",
    "ensure_topics_sync",
    "free_port",
    "kafka_healthy",
    "mongo_healthy",
    "provision_ferretdb",
    "provision_kafka",
    "repo_root",
]
