"""Real servers for development and tests, without Docker.

Apache Kafka (single KRaft node) and mongo-java-server (MongoDB wire protocol, H2 store or in
memory), both from Maven Central jars run on the local JDK, are provisioned once into
`ORDERLENS_CACHE_DIR` (default `~/.cache/orderlens`) and run as detached background processes
with their state under `ORDERLENS_STATE_DIR` (default `<repo>/.orderlens`). See `orderlens dev
--help` and docs/decisions/0002, 0080.
"""

from __future__ import annotations

from orderlens_devtools.devstack.docker import docker_engine_available
from orderlens_devtools.devstack.errors import DevStackError
from orderlens_devtools.devstack.kafka import (
    KafkaInstall,
    KafkaServer,
    kafka_healthy,
    provision_kafka,
)
from orderlens_devtools.devstack.mongo import (
    MongoInstall,
    MongoServer,
    mongo_healthy,
    provision_mongo,
)
from orderlens_devtools.devstack.paths import cache_dir, default_state_dir, repo_root
from orderlens_devtools.devstack.proc import free_port
from orderlens_devtools.devstack.stack import (
    COMPONENTS,
    Component,
    LocalStack,
    ServerStatus,
    StackConfig,
    StackStatus,
)
from orderlens_devtools.devstack.topics import (
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
    "KafkaInstall",
    "KafkaServer",
    "LocalStack",
    "MongoInstall",
    "MongoServer",
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
    "provision_kafka",
    "provision_mongo",
    "repo_root",
]
