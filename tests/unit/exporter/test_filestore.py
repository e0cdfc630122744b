"""The local-directory file store: atomic commits, safe keys, verified reads."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderlens.filestore import CorruptFile, LocalFileStore, UnsafeKey, open_verified


async def read_all(store: LocalFileStore, key: str, *, size: int, sha256: str) -> bytes:
    stored = await open_verified(store, key, size=size, sha256=sha256)
    try:
        return b"".join([chunk async for chunk in stored.chunks(chunk_size=7)])
    finally:
        await stored.close()


async def test_a_committed_file_appears_whole_with_its_checksum(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    staged = store.staging_path("exp-1.1.csv")
    staged.write_bytes(b"a,b\r\n1,2\r\n")
    assert not (tmp_path / "store" / "exp-1.1.csv").exists()

    stored = await store.commit(staged, "exp-1.1.csv")

    assert stored.bytes == 10
    assert stored.sha256 == hashlib.sha256(b"a,b\r\n1,2\r\n").hexdigest()
    assert not staged.exists()
    assert [k.key for k in await store.keys()] == ["exp-1.1.csv"]
    data = await read_all(store, "exp-1.1.csv", size=stored.bytes, sha256=stored.sha256)
    assert data == b"a,b\r\n1,2\r\n"


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "a/b", "/abs", "..", ".hidden", "a..b", "a\x00b", "", "a\\b", " a"]
)
async def test_keys_that_could_leave_the_store_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalFileStore(tmp_path / "store")
    with pytest.raises(UnsafeKey):
        await store.open(key)
    with pytest.raises(UnsafeKey):
        store.staging_path(key)
    with pytest.raises(UnsafeKey):
        await store.delete(key)


async def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    staged = store.staging_path("f.csv")
    staged.write_bytes(b"0123456789")
    stored = await store.commit(staged, "f.csv")
    (tmp_path / "store" / "f.csv").write_bytes(b"0123456780")
    with pytest.raises(CorruptFile, match="checksum"):
        await open_verified(store, "f.csv", size=stored.bytes, sha256=stored.sha256)
    (tmp_path / "store" / "f.csv").write_bytes(b"01234")
    with pytest.raises(CorruptFile, match="bytes"):
        await open_verified(store, "f.csv", size=stored.bytes, sha256=stored.sha256)


async def test_a_reader_creates_nothing_and_a_missing_file_is_not_found(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    assert await store.keys() == []
    assert not (tmp_path / "store").exists()
    with pytest.raises(FileNotFoundError):
        await open_verified(store, "gone.csv", size=1, sha256="0" * 64)
    assert await store.delete("gone.csv") is False


async def test_a_symlink_in_the_store_is_not_followed(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    (tmp_path / "store").mkdir()
    (tmp_path / "secret").write_text("secret")
    os.symlink(tmp_path / "secret", tmp_path / "store" / "link.csv")
    with pytest.raises(OSError):  # noqa: PT011 - ELOOP from O_NOFOLLOW
        await store.open("link.csv")


async def test_purge_removes_only_old_staging_leftovers(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path / "store")
    old = store.staging_path("old.csv")
    old.write_bytes(b"x")
    scratch = old.parent / "xlsx-scratch"
    scratch.mkdir()
    (scratch / "sheet1").write_text("rows")
    past = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    for path in (old, scratch / "sheet1", scratch):
        os.utime(path, (past, past))
    fresh = store.staging_path("fresh.csv")
    fresh.write_bytes(b"y")

    removed = await store.purge_staging(datetime.now(UTC) - timedelta(hours=1))

    assert removed == 2
    assert not old.exists()
    assert not scratch.exists()
    assert fresh.exists()
