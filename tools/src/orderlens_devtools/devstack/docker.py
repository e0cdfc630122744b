"""Is a Docker engine answering? (Used to decide whether testcontainers can be used.)"""

from __future__ import annotations

import functools


@functools.cache
def docker_engine_available(timeout: float = 2.0) -> bool:
    """True when a Docker engine (DOCKER_HOST, docker context or the default socket) pings."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=int(max(1.0, timeout)))
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()
