"""Where export files live: an interface, and a local-directory implementation.

The exporter writes a file under a staging path and `commit`s it: the store checksums it and
makes it visible under its key atomically, so a partial file is never visible. Readers `open` a
stored file once and get an immutable view of it (`open_verified` checks size and SHA-256 on that
same view before anything is served). An S3-compatible store implements the same interface
(staging on local disk, `commit` = upload; objects are immutable and appear atomically).

Keys are plain names (letters, digits, `.`, `-`, `_`; no path separators, no `..`), checked
before any file-system call, so no key can reach outside the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import shutil
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CHUNK_SIZE = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_STAGING_DIR = ".staging"


class UnsafeKey(ValueError):
    """A key that could name something outside the store."""


class CorruptFile(Exception):
    """A stored file whose size or checksum differs from what was recorded."""


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise UnsafeKey(f"not a safe file key: {key!r}")
    return key


@dataclass(frozen=True)
class StoredFile:
    key: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class StoredKey:
    key: str
    modified_at: datetime


class StoredObject(ABC):
    """One opened, immutable stored file."""

    size: int

    @abstractmethod
    def chunks(self, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The file's bytes from the start (each call starts again)."""

    @abstractmethod
    async def close(self) -> None: ...


class FileStore(ABC):
    @abstractmethod
    def staging_path(self, key: str) -> Path:
        """A fresh local path to write the file of `key` into before `commit`; its directory
        may also hold the writer's scratch files."""

    @abstractmethod
    async def commit(self, staged: Path, key: str) -> StoredFile:
        """Checksum `staged`, make it durable and visible as `key` (replacing any), atomically."""

    @abstractmethod
    async def discard(self, staged: Path) -> None:
        """Remove a staged file that will not be committed (no error when absent)."""

    @abstractmethod
    async def open(self, key: str) -> StoredObject:
        """Open a stored file; FileNotFoundError when there is none."""

    @abstractmethod
    async def delete(self, key: str) -> bool:
        """Delete a stored file; False when there was none."""

    @abstractmethod
    async def keys(self) -> list[StoredKey]:
        """Every stored key, for retention sweeps."""

    @abstractmethod
    async def purge_staging(self, older_than: datetime) -> int:
        """Delete staged files left by dead writers; the number deleted."""


async def open_verified(store: FileStore, key: str, *, size: int, sha256: str) -> StoredObject:
    """Open `key` and check it against the recorded size and SHA-256 before serving it.

    The check reads the same open object that is then served, so a file replaced or deleted in
    between cannot slip through. Raises FileNotFoundError or CorruptFile.
    """
    stored = await store.open(key)
    try:
        if stored.size != size:
            raise CorruptFile(f"{key}: {stored.size} bytes, recorded {size}")
        digest = hashlib.sha256()
        async for chunk in stored.chunks():
            digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise CorruptFile(f"{key}: checksum differs from the recorded one")
    except BaseException:
        await stored.close()
        raise
    return stored


class _LocalObject(StoredObject):
    def __init__(self, fd: int, size: int) -> None:
        self._fd = fd
        self.size = size

    async def chunks(self, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        offset = 0
        while offset < self.size:
            # pread keeps no file position, so several readers of one object never interfere.
            chunk = await asyncio.to_thread(
                os.pread, self._fd, min(chunk_size, self.size - offset), offset
            )
            if not chunk:
                break
            offset += len(chunk)
            yield chunk

    async def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _checksum_and_sync(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb+") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(handle.fileno())
    return size, digest.hexdigest()


def _last_modified(entry: os.DirEntry[str]) -> datetime:
    """A file's mtime; for a directory, the newest mtime of what it holds (a writer appends to
    its scratch files, which does not touch the directory's own mtime)."""
    newest = entry.stat(follow_symlinks=False).st_mtime
    if entry.is_dir(follow_symlinks=False):
        with os.scandir(entry.path) as inner:
            for child in inner:
                newest = max(newest, child.stat(follow_symlinks=False).st_mtime)
    return datetime.fromtimestamp(newest, tz=UTC)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalFileStore(FileStore):
    """Files in one directory; staging in its `.staging/` subdirectory (same file system, so
    the final rename is atomic)."""

    def __init__(self, root: Path | str) -> None:
        # Nothing is created here: a reader (query-api) may see the directory read-only.
        self.root = Path(root).resolve()
        self._staging = self.root / _STAGING_DIR

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        if path.parent != self.root:  # defence in depth; check_key already forbids separators
            raise UnsafeKey(f"not a safe file key: {key!r}")
        return path

    def staging_path(self, key: str) -> Path:
        check_key(key)
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging / f"{key}.{secrets.token_hex(6)}.part"

    async def commit(self, staged: Path, key: str) -> StoredFile:
        target = self._path(key)
        if staged.parent != self._staging:
            raise UnsafeKey(f"not a staging path of this store: {staged}")
        size, sha256 = await asyncio.to_thread(_checksum_and_sync, staged)
        await asyncio.to_thread(os.replace, staged, target)
        await asyncio.to_thread(_fsync_dir, self.root)
        return StoredFile(key=key, bytes=size, sha256=sha256)

    async def discard(self, staged: Path) -> None:
        if staged.parent == self._staging:
            await asyncio.to_thread(staged.unlink, True)

    async def open(self, key: str) -> StoredObject:
        path = self._path(key)
        fd = await asyncio.to_thread(os.open, path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            size = os.fstat(fd).st_size
        except BaseException:
            os.close(fd)
            raise
        return _LocalObject(fd, size)

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def keys(self) -> list[StoredKey]:
        def scan() -> list[StoredKey]:
            found: list[StoredKey] = []
            if not self.root.is_dir():
                return found
            with os.scandir(self.root) as entries:
                for entry in entries:
                    if entry.is_file(follow_symlinks=False) and _KEY.match(entry.name):
                        modified = datetime.fromtimestamp(entry.stat().st_mtime, tz=UTC)
                        found.append(StoredKey(entry.name, modified))
            return found

        return await asyncio.to_thread(scan)

    async def purge_staging(self, older_than: datetime) -> int:
        def purge() -> int:
            removed = 0
            if not self._staging.is_dir():
                return removed
            with os.scandir(self._staging) as entries:
                for entry in entries:
                    if _last_modified(entry) >= older_than:
                        continue
                    # Writers may keep scratch directories here too (XLSX spill files).
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        Path(entry.path).unlink(missing_ok=True)
                    removed += 1
            return removed

        return await asyncio.to_thread(purge)
