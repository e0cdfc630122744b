"""bench/cpu.py finds a local server by its listening port and reads its CPU time."""

from __future__ import annotations

import os
import socket

from bench.cpu import CpuMeter, process_seconds, server_pid


def test_a_server_listening_here_is_found_by_its_port_and_measured() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert server_pid(f"mongodb://127.0.0.1:{port}/") == os.getpid()
        assert server_pid(f"127.0.0.1:{port}") == os.getpid()
        meter = CpuMeter(f"127.0.0.1:{port}")
        meter.start()
        sum(i * i for i in range(200_000))  # some CPU work
        meter.stop()
    assert meter.own > 0
    assert meter.server is not None
    assert meter.server >= 0
    assert process_seconds(None) is None


def test_a_port_nobody_listens_on_gives_no_server() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening
    assert server_pid(f"mongodb://127.0.0.1:{port}/") is None
    assert CpuMeter(f"127.0.0.1:{port}").pid is None
