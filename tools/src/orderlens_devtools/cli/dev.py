"""`orderlens dev`: provision, start, stop and inspect the local Kafka + mongo-java-server stack.

    orderlens dev provision            fetch the Kafka and mongo-java-server jars (once, cached)
    orderlens dev up                   start both (idempotent), create the contract topics
    orderlens dev status               show what runs where
    orderlens dev down [--wipe]        stop both (and delete their data)

When KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI are set, those servers are used and nothing is
started for them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from orderlens_devtools.devstack import (
    COMPONENTS,
    Component,
    DevStackError,
    LocalStack,
    ServerStatus,
    StackConfig,
)

_EXTERNAL = {"kafka": "KAFKA_BOOTSTRAP_SERVERS", "mongo": "MONGODB_URI"}


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--kafka-port", type=int, help="Kafka port (ORDERLENS_KAFKA_PORT, 9092)")
    common.add_argument(
        "--mongo-port", type=int, help="MongoDB-wire server port (ORDERLENS_MONGO_PORT, 27017)"
    )
    common.add_argument(
        "--partitions", type=int, help="partitions per contract topic (ORDERLENS_PARTITIONS, 3)"
    )
    common.add_argument(
        "--state-dir", type=Path, help="data, logs, pid files (ORDERLENS_STATE_DIR, .orderlens)"
    )
    common.add_argument("-q", "--quiet", action="store_true", help="less output")

    parser = subparsers.add_parser(
        "dev",
        help="run a local Kafka + mongo-java-server without Docker",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="dev_command", required=True)
    actions.add_parser(
        "provision", parents=[common], help="fetch the Kafka and mongo-java-server jars (cached)"
    ).set_defaults(func=_provision)
    actions.add_parser(
        "up", parents=[common], help="start Kafka and mongo-java-server, create the contract topics"
    ).set_defaults(func=_up)
    actions.add_parser("status", parents=[common], help="show the local servers").set_defaults(
        func=_status
    )
    down = actions.add_parser("down", parents=[common], help="stop the local servers")
    down.add_argument("--wipe", action="store_true", help="also delete their data")
    down.set_defaults(func=_down)


def _stack(args: argparse.Namespace) -> LocalStack:
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    config = StackConfig.from_env(
        state_dir=args.state_dir,
        kafka_port=args.kafka_port,
        mongo_port=args.mongo_port,
        partitions=args.partitions,
    )
    return LocalStack(config)


def _local_components() -> tuple[Component, ...]:
    return tuple(c for c in COMPONENTS if not os.environ.get(_EXTERNAL[c]))


def _print_external() -> None:
    for component, var in _EXTERNAL.items():
        value = os.environ.get(var)
        if value:
            print(f"{component:<6} external   {value}  ({var} is set; not started locally)")


def _line(server: ServerStatus) -> str:
    state = f"running    pid {server.pid}" if server.running else "stopped   "
    return f"{server.name:<6} {state:<18} {server.address}  (log: {server.log_file})"


def _provision(args: argparse.Namespace) -> int:
    stack = _stack(args)
    started = time.monotonic()
    try:
        stack.provision()
    except DevStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"provisioned Kafka and mongo-java-server in {stack.config.cache_dir} ", end="")
    print(f"({time.monotonic() - started:.1f}s)")
    return 0


def _up(args: argparse.Namespace) -> int:
    stack = _stack(args)
    components = _local_components()
    _print_external()
    before = stack.status()
    already = {s.name for s in before.servers if s.running and s.name in components}
    started = time.monotonic()
    try:
        status = stack.up(components)
    except DevStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for server in status.servers:
        if server.name in components:
            note = "  [already running]" if server.name in already else ""
            print(_line(server) + note)
    if components:
        print(f"ready in {time.monotonic() - started:.1f}s; state in {status.state_dir}")
    kafka = os.environ.get(_EXTERNAL["kafka"]) or status.kafka.address
    mongo = os.environ.get(_EXTERNAL["mongo"]) or status.mongo.address
    print(f"export KAFKA_BOOTSTRAP_SERVERS={kafka}")
    print(f"export MONGODB_URI={mongo}")
    return 0


def _status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    _print_external()
    status = stack.status()
    components = _local_components()
    for server in status.servers:
        if server.name in components:
            print(_line(server))
    running = all(s.running for s in status.servers if s.name in components)
    return 0 if running else 1


def _down(args: argparse.Namespace) -> int:
    stack = _stack(args)
    try:
        status = stack.down(wipe=args.wipe)
    except DevStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for server in status.servers:
        print(_line(server))
    if args.wipe:
        print(f"data deleted under {status.state_dir}")
    return 0
