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


def connector_env(
    *,
    kafka: str,
    mongodb_uri: str,
    database: str,
    simulator_url: str,
    port: int,
    app_key: str,
    app_secret: str,
    **extra: str,
) -> dict[str, str]:
    """The environment `make run` gives the connector (scripts/run-stack), on the test's servers,
    topics and ports; `extra` adds or overrides variables (TOPIC_*, rates)."""
    import os

    from cryptography.fernet import Fernet

    url = f"http://127.0.0.1:{port}"
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database,
        "TIKTOK_APP_KEY": app_key,
        "TIKTOK_APP_SECRET": app_secret,
        "TIKTOK_API_BASE_URL": simulator_url,
        "TIKTOK_AUTH_BASE_URL": simulator_url,
        "TIKTOK_AUTHORIZE_URL": f"{simulator_url}/oauth/authorize",
        "OAUTH_REDIRECT_URL": f"{url}/oauth/tiktok/callback",
        "TIKTOK_TOKEN_KEYS": Fernet.generate_key().decode(),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "SYNC_POLL_SECONDS": "0.2",
        "RECONCILE_SECONDS": "3600",
        "LOG_JSON": "false",
        **extra,
    }


async def start_connector(env: dict[str, str], log: Any) -> asyncio.subprocess.Process:
    """`orderlens-tiktok-connector` as its own process (SIGKILL-able), answering /healthz."""
    import subprocess
    import sys
    from pathlib import Path

    import httpx

    from orderlens.waiting import wait_for

    script = Path(sys.executable).parent / "orderlens-tiktok-connector"
    with Path(log).open("ab") as stderr:  # noqa: ASYNC230 (a local file, opened once)
        proc = await asyncio.create_subprocess_exec(
            str(script), env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    url = f"http://127.0.0.1:{env['HTTP_PORT']}/healthz"

    async def up() -> bool:
        if proc.returncode is not None:
            tail = await asyncio.to_thread(Path(log).read_text)
            raise AssertionError(f"the connector exited: {tail[-2000:]}")
        try:
            async with httpx.AsyncClient() as http:
                return (await http.get(url)).status_code == 200
        except httpx.TransportError:
            return False

    await wait_for(up, 180, "the connector answers /healthz")
    return proc


async def kill(proc: asyncio.subprocess.Process | None) -> None:
    if proc is not None and proc.returncode is None:
        proc.kill()
        await proc.wait()
