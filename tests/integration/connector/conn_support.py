"""Serving an ASGI app over real HTTP on a free port, in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from orderlens_devtools.devstack.proc import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve(
    app: Any, port: int | None = None
) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    await asyncio.to_thread(
        wait_until, lambda: server.started, timeout=10, what="uvicorn started", interval=0.02
    )
    return server, task, f"http://127.0.0.1:{port}"


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task
