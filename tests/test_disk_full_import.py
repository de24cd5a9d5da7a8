"""A full disk while importing vectors, on a real tmpfs: a first import leaves no store and no temp
folder, an update keeps the batches it committed, and either one finishes, once there is room, with
the store a clean import makes (same ids, same vectors); the CLI says so in one line with exit 75."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests import sources_data as data
from tests.fullfs import SmallDisk, leftovers, small_disk, snapshot
from vexplore.engine.diskfull import DiskFull
from vexplore.engine.index import VectorIndex
from vexplore.engine.sources.base import Columns
from vexplore.engine.sources.detect import open_source
from vexplore.engine.sources.importer import ImportOptions, import_source
from vexplore.engine.vectorfile import VectorFile

pytestmark = pytest.mark.fast
BATCH = 32


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    yield from small_disk(tmp_path)


def bring_in(src: Path, store: Path):
    reader = open_source(str(src), Columns())
    try:
        return import_source(reader, src.parent, store, ImportOptions(batch_rows=BATCH))
    finally:
        reader.close()


def clean(tmp_path: Path, src: Path) -> dict:
    bring_in(src, tmp_path / "clean")
    return snapshot(src.parent, tmp_path / "clean")


def fill_at(disk: SmallDisk, monkeypatch, owner: object, name: str, call: int, after: bool = False) -> None:
    """Fill the disk just before (or just after) the call-th call of owner.name."""
    real: Callable = getattr(owner, name)
    calls = [0]

    def filled(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call and not after:
            disk.fill()
        out = real(*args, **kwargs)
        if calls[0] == call and after:
            disk.fill()
        return out

    monkeypatch.setattr(owner, name, filled)


def temp_folders(mount: Path) -> list[str]:
    return [p.name for p in mount.iterdir() if ".tmp-" in p.name]


def test_full_disk_during_a_first_import_leaves_nothing_behind(disk, monkeypatch, tmp_path):
    src = data.write_parquet(tmp_path / "v.parquet", data.vectors(), id=data.ids(), label=data.labels())
    store = disk.mount / "store"
    fill_at(disk, monkeypatch, VectorFile, "append", 2)
    with pytest.raises(DiskFull) as failed:
        bring_in(src, store)
    monkeypatch.undo()
    assert failed.value.committed == 0 and failed.value.needed
    assert str(store) in str(failed.value) and "while importing" in str(failed.value)
    assert not store.exists() and temp_folders(disk.mount) == []
    disk.free()
    summary = bring_in(src, store)
    assert summary.embedded == data.N and leftovers(src.parent, store) == []
    assert snapshot(src.parent, store) == clean(tmp_path, src)


@pytest.mark.parametrize(
    "owner,name,call,after",
    [
        (VectorFile, "append", 2, False),
        (VectorFile, "append", 2, True),
        (VectorIndex, "save", 1, False),
    ],
    ids=["vector-append", "catalog-commit", "index-save"],
)
def test_full_disk_during_an_update_keeps_what_it_committed(
    disk, monkeypatch, tmp_path, owner, name, call, after
):
    keys, x = data.ids(), data.vectors()
    src = data.write_parquet(tmp_path / "v.parquet", x, id=keys, label=data.labels())
    store = disk.mount / "store"
    bring_in(src, store)
    before = snapshot(src.parent, store)["imported"]
    # Every vector changes and 30 rows are added: three batches to commit.
    x2 = np.concatenate([data.vectors(seed=5), data.vectors(30, seed=6)])
    keys2 = keys + [f"new-{i}" for i in range(30)]
    data.write_parquet(src, x2, id=keys2, label=data.labels(len(keys2)))
    want = clean(tmp_path, src)
    fill_at(disk, monkeypatch, owner, name, call, after)
    with pytest.raises(DiskFull) as failed:
        bring_in(src, store)
    monkeypatch.undo()
    assert "nothing is lost" in str(failed.value) and str(store) in str(failed.value)
    assert leftovers(src.parent, store) == [] and temp_folders(disk.mount) == []
    kept = snapshot(src.parent, store)["imported"]
    assert all(kept[key] == want["imported"][key] for key in keys2[:BATCH]), "the first batch stays"
    if owner is VectorIndex:
        assert kept == want["imported"] and failed.value.committed == len(keys2)
    else:
        assert all(kept[key] == before[key] for key in keys2[BATCH : 2 * BATCH]), "the second is undone"
        assert not any(key.startswith("new-") for key in kept)
    disk.free()
    again = bring_in(src, store)
    assert not again.interrupted
    assert snapshot(src.parent, store) == want
    assert bring_in(src, store).embedded == 0, "the rerun recorded the store as current"


def test_cli_import_on_a_full_disk_is_one_line_and_exit_75(disk, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 48)).astype(np.float32)
    src = data.write_parquet(tmp_path / "big.parquet", x, id=[f"r{i}" for i in range(len(x))])
    disk.grow("3m")
    store = disk.mount / "store"
    cmd = [sys.executable, "-m", "vexplore", "import", str(src), "--store", str(store)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 75, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "disk full while importing" in errors[0] and "free about" in errors[0]
    assert str(store) in errors[0] and "move it aside" not in done.stderr
    assert not store.exists() and temp_folders(disk.mount) == []
    disk.grow("40m")
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert snapshot(tmp_path, store) == clean(tmp_path, src)
