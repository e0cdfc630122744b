"""The benchmarks' own Kafka and MongoDB-wire server, apart from the dev stack and the test stack.

State under `<repo>/.orderlens/bench`, Kafka on 29092 (controller 29093) and mongo-java-server
(memory backend) on 47117
(`ORDERLENS_BENCH_KAFKA_PORT` / `ORDERLENS_BENCH_MONGO_PORT` to move them), so that a benchmark
never disturbs the dev stack (9092/27017) or the test stack (19092/37017). When both
`KAFKA_BOOTSTRAP_SERVERS` and `MONGODB_URI` are set, those servers are used instead and nothing
is started or stopped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from orderlens_devtools.devstack import LocalStack, StackConfig, repo_root

BENCH_KAFKA_PORT = 29092
BENCH_MONGO_PORT = 47117


@dataclass(frozen=True)
class Servers:
    bootstrap_servers: str
    mongodb_uri: str
    started_here: bool
    description: str

    def env(self) -> dict[str, str]:
        """What a benchmark script reads to find the servers."""
        return {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers, "MONGODB_URI": self.mongodb_uri}


def bench_config() -> StackConfig:
    """The memory backend: a run seeds its own data and needs none of it afterwards."""
    config = StackConfig.from_env(
        state_dir=repo_root() / ".orderlens" / "bench",
        kafka_port=int(os.environ.get("ORDERLENS_BENCH_KAFKA_PORT", BENCH_KAFKA_PORT)),
        mongo_port=int(os.environ.get("ORDERLENS_BENCH_MONGO_PORT", BENCH_MONGO_PORT)),
    )
    return replace(config, mongo_store=False)


@contextmanager
def bench_servers(*, keep: bool = False) -> Iterator[Servers]:
    """The servers for a run: external ones named by the environment, else the benchmark stack,
    started for the run and stopped afterwards (unless `keep`)."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    uri = os.environ.get("MONGODB_URI")
    if bootstrap and uri:
        yield Servers(bootstrap, uri, False, f"external servers: Kafka {bootstrap}, {uri}")
        return
    # The memory backend holds every database in the JVM heap: 100,000 orders took 1.8 GB of the
    # default 2 GB, and the collector's thrashing then timed the driver out (2026-12-02 run).
    os.environ.setdefault("ORDERLENS_MONGO_JAVA_OPTS", "-Xmx4g")
    stack = LocalStack(bench_config())
    stack.up(create_topics=False)
    try:
        yield Servers(
            stack.bootstrap_servers,
            stack.mongodb_uri,
            True,
            f"local Kafka (KRaft) {stack.bootstrap_servers} and mongo-java-server 1.47 (memory) "
            f"{stack.mongodb_uri}, state in {stack.config.state_dir}",
        )
    finally:
        if not keep:
            stack.down()
