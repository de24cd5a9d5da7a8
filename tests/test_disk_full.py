"""A full disk at each write point of an index run, on a real tmpfs: the run stops with DiskFull (how
many files are committed, where the store is, how much room it needs), leaves no partial file, and a
rerun once there is room ends with the same store as a clean run."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fullfs import SmallDisk, leftovers, small_disk, snapshot
from vexplore.engine import compaction
from vexplore.engine.diskfull import DiskFull, is_disk_full
from vexplore.engine.embeddings import Embeddings
from vexplore.engine.index import VectorIndex
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.vectorfile import VectorFile

pytestmark = pytest.mark.fast
WORDS = [f"w{i}" for i in range(400)]


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    yield from small_disk(tmp_path)


def texts(root: Path, n: int, seed: int = 0, start: int = 0) -> Path:
    rng = random.Random(seed)
    root.mkdir(exist_ok=True)
    for i in range(start, start + n):
        (root / f"t{i:05d}.txt").write_text(" ".join(rng.choices(WORDS, k=30)))
    return root


def images(root: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    root.mkdir(exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(root / f"i{i:03d}.png")
    return root


def fill_before(disk: SmallDisk, monkeypatch, owner: object, name: str, call: int = 1) -> None:
    """Fill the disk just before the call-th call of owner.name: that write meets a real ENOSPC."""
    real: Callable = getattr(owner, name)
    calls = [0]

    def filled(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            disk.fill()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, filled)


def run(root: Path, store: Path, model: str = "toy", batch: int | None = None):
    return index_folder(root, store, Options([model], "cpu", batch, 0, False))


def stop_and_resume(
    disk: SmallDisk, monkeypatch, root: Path, model: str = "toy", batch: int | None = None
) -> DiskFull:
    store = disk.mount / "store"
    with pytest.raises(DiskFull) as failed:
        run(root, store, model, batch)
    monkeypatch.undo()
    assert leftovers(root, store) == []
    disk.free()
    run(root, store, model, batch)
    return failed.value


def clean(tmp_path: Path, root: Path, model: str = "toy") -> dict:
    run(root, tmp_path / "clean", model)
    return snapshot(root, tmp_path / "clean")


@pytest.mark.parametrize(
    "owner,name,call",
    [(VectorFile, "append", 2), (Embeddings, "record_batch", 3), (VectorIndex, "save", 1)],
    ids=["vector-append", "catalog-commit", "index-save"],
)
def test_full_disk_at_each_write_point(disk, monkeypatch, tmp_path, owner, name, call):
    root = texts(tmp_path / "texts", 400)
    fill_before(disk, monkeypatch, owner, name, call)
    error = stop_and_resume(disk, monkeypatch, root)
    message = str(error)
    assert "nothing is lost" in message and str(disk.mount / "store") in message
    assert "move it aside" not in message and "unreadable" not in message
    assert error.committed == {"append": 128, "record_batch": 256, "save": 400}[name]
    assert error.needed and error.needed > 0
    assert snapshot(root, disk.mount / "store") == clean(tmp_path, root)


def test_full_disk_while_storing_thumbnails(disk, monkeypatch, tmp_path):
    root = images(tmp_path / "pics", 40)
    # A commit holds four batches and at least FILES_PER_COMMIT files: 16 here, so 40 pictures commit thrice.
    monkeypatch.setattr("vexplore.engine.local_stages.FILES_PER_COMMIT", 16)
    fill_before(disk, monkeypatch, Embeddings, "record_batch", 2)
    error = stop_and_resume(disk, monkeypatch, root, "toy-image", batch=4)
    assert error.committed == 16
    assert snapshot(root, disk.mount / "store") == clean(tmp_path, root, "toy-image")


def test_full_disk_during_compaction(disk, monkeypatch, tmp_path):
    root = texts(tmp_path / "texts", 300)
    monkeypatch.setattr(compaction, "MIN_ROWS", 10)
    store = disk.mount / "store"
    run(root, store)
    texts(root, 200, seed=1)  # 200 files change: their old rows become garbage to compact
    fill_before(disk, monkeypatch, VectorFile, "write")
    with pytest.raises(DiskFull):
        run(root, store)
    monkeypatch.undo()
    monkeypatch.setattr(compaction, "MIN_ROWS", 10)
    assert leftovers(root, store) == []
    disk.free()
    summary = run(root, store)
    assert [c.model for c in summary.compaction] == ["toy"]
    assert snapshot(root, store) == clean(tmp_path, root)


def test_full_disk_at_the_wal_checkpoint(disk, monkeypatch, tmp_path):
    """The checkpoint at close cannot copy the WAL into the catalog: the WAL keeps the commits."""
    from vexplore.engine.catalog import Catalog

    root = texts(tmp_path / "texts", 300)
    fill_before(disk, monkeypatch, Catalog, "close")
    store = disk.mount / "store"
    run(root, store)
    monkeypatch.undo()
    disk.free()
    assert snapshot(root, store) == clean(tmp_path, root)
    run(root, store)
    assert snapshot(root, store) == clean(tmp_path, root)


def test_cli_says_disk_full_in_one_line_with_its_own_status(disk, tmp_path):
    """The issue's repro: 2,000+ texts into a store on a 3 MB file system."""
    root = texts(tmp_path / "texts", 2100)
    disk.grow("3m")
    store = disk.mount / "store"
    cmd = [sys.executable, "-m", "vexplore", "index", str(root), "--model", "toy", "--store", str(store)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 75, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert "files are committed and nothing is lost" in errors[0] and "free about" in errors[0]
    assert "move it aside" not in done.stderr
    disk.grow("40m")
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert snapshot(root, store) == clean(tmp_path, root)


def test_a_damaged_catalog_is_still_called_damaged(disk, tmp_path):
    """Damage found by SQLite stays damage, even on a full disk; only SQLite's own I/O failures on a disk
    with no room count as a full disk (it cannot open the WAL there, so it cannot look for damage)."""
    import sqlite3

    root = texts(tmp_path / "texts", 50)
    store = disk.mount / "store"
    run(root, store)
    catalog = store / "catalog.sqlite"
    for side in ("-wal", "-shm"):
        Path(f"{catalog}{side}").unlink(missing_ok=True)
    data = bytearray(catalog.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    catalog.write_bytes(bytes(data))
    with pytest.raises(Exception) as failed:
        run(root, store)
    assert not isinstance(failed.value, DiskFull)
    assert "unreadable" in str(failed.value) and "move it aside" in str(failed.value)
    corrupt = failed.value.__cause__
    assert isinstance(corrupt, sqlite3.DatabaseError)
    disk.fill()
    assert not is_disk_full(corrupt, store)
    with pytest.raises(DiskFull):
        run(root, store)
    disk.free()
    with pytest.raises(Exception, match="unreadable"):
        run(root, store)
    shutil.rmtree(store, ignore_errors=True)


def test_quota_and_sqlite_full_count_as_a_full_disk_and_nothing_else_does(tmp_path):
    import errno
    import sqlite3

    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    wrapped = RuntimeError("batch failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_disk_full(wrapped)
    assert not is_disk_full(OSError(errno.EIO, "Input/output error"))
    assert not is_disk_full(sqlite3.DatabaseError("database disk image is malformed"), tmp_path)
    line = str(DiskFull(tmp_path, committed=12, needed=3 * 1024 * 1024))
    assert line.startswith("disk full: 12 files are committed and nothing is lost; the store is ")
    assert "free about 3.0 MB there" in line
