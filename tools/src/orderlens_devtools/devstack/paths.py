"""Where the local stack keeps things: build cache, state (data, logs, pid files), sources."""

from __future__ import annotations

import os
from pathlib import Path

from orderlens_devtools.devstack.errors import DevStackError

#: Relative path (from the repository root) of the directory holding the Kafka and
#: mongo-java-server poms.
DEPLOY_LOCAL = Path("deploy") / "local"

_MARKER = DEPLOY_LOCAL / "kafka" / "pom.xml"


def cache_dir() -> Path:
    """Downloaded jars and built binaries: `ORDERLENS_CACHE_DIR`, default `~/.cache/orderlens`."""
    explicit = os.environ.get("ORDERLENS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return (base / "orderlens").resolve()


def repo_root() -> Path | None:
    """The orderlens checkout: `ORDERLENS_REPO_ROOT`, else found from this file or the cwd."""
    explicit = os.environ.get("ORDERLENS_REPO_ROOT")
    if explicit:
        return Path(explicit).expanduser().resolve()
    here = Path(__file__).resolve()
    candidates = [*here.parents, Path.cwd().resolve(), *Path.cwd().resolve().parents]
    for candidate in candidates:
        if (candidate / _MARKER).is_file():
            return candidate
    return None


def deploy_dir() -> Path:
    """`deploy/local` of the checkout (Kafka and mongo-java-server poms)."""
    root = repo_root()
    if root is None:
        raise DevStackError(
            f"cannot find {_MARKER} in an orderlens checkout; run from the repository "
            "or set ORDERLENS_REPO_ROOT"
        )
    return root / DEPLOY_LOCAL


def default_state_dir() -> Path:
    """Data, logs and pid files: `ORDERLENS_STATE_DIR`, default `<repo or cwd>/.orderlens`."""
    explicit = os.environ.get("ORDERLENS_STATE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    root = repo_root()
    return (root if root is not None else Path.cwd().resolve()) / ".orderlens"
