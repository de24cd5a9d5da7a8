"""A full disk while recording a Milvus export: one DiskFull line, the record keeps the previous export,
and the next export (with room) sends the batch again and ends in step with the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fullfs import SmallDisk, small_disk
from tests.test_disk_full import run, texts
from vexplore.engine.diskfull import DiskFull
from vexplore.engine.milvus import STATE_FILE, export_milvus
from vexplore.engine.store import Store


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    yield from small_disk(tmp_path)


def test_full_disk_while_recording_a_milvus_export(disk, tmp_path):
    root = texts(tmp_path / "texts", 300)
    store_dir = disk.mount / "store"
    uri = str(tmp_path / "lite.db")  # Milvus Lite's own file is elsewhere: only the record fills
    run(root, store_dir)
    with Store(root, store_dir) as store:
        first = export_milvus(store, store.models()[0], uri)
    assert first["upserted"] == 300
    texts(root, 100, seed=3, start=300)  # 100 new files
    run(root, store_dir)
    with Store(root, store_dir) as store, pytest.raises(DiskFull) as failed:
        disk.fill()  # after the store opened (on a full disk, opening its catalog is what fails)
        export_milvus(store, store.models()[0], uri)
    assert "nothing committed is lost" in str(failed.value) and "export" in str(failed.value)
    assert [p.name for p in store_dir.glob(f"{STATE_FILE}-*")] == []  # no journal left behind
    disk.free()
    with Store(root, store_dir) as store:
        again = export_milvus(store, store.models()[0], uri)
        last = export_milvus(store, store.models()[0], uri)
    assert again["vectors"] == 400 and again["upserted"] >= 100  # out of step with the record: re-synced
    assert (last["upserted"], last["deleted"], last["unchanged"]) == (0, 0, 400)
