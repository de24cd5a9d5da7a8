"""Keeping an imported source up to date by id: an unchanged source is not read again, a changed one
brings in only its added and changed rows and drops the removed ones (index kept in step), and an
import stopped half-way keeps its committed batches and finishes on the next run."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests import sources_data as data
from tests.clirun import invoke
from vexplore.engine.events import ProgressEvent
from vexplore.engine.index import VectorIndex
from vexplore.engine.sources.base import Columns
from vexplore.engine.sources.detect import open_source
from vexplore.engine.sources.importer import ImportOptions, import_source
from vexplore.engine.sources.parquet import ParquetSource
from vexplore.engine.store import Store

pytestmark = pytest.mark.fast


def _check_against_numpy(src, keys, x, k=4):
    expected = data.exact_neighbors(keys, x, k)
    lines = invoke("neighbors", src, "--all", "-k", k, "--json").json_lines()
    assert {line["path"] for line in lines} == set(keys)
    for line in lines:
        assert [h["path"] for h in line["neighbors"]] == [p for p, _ in expected[line["path"]]]


def test_unchanged_is_not_read_and_changes_come_in_by_id(tmp_path, monkeypatch):
    keys, x, labels = data.ids(), data.vectors(), data.labels()
    src = data.write_parquet(tmp_path / "v.parquet", x, id=keys, label=labels)
    first = invoke("import", src, "--json").json()
    assert (first["embedded"], first["unchanged"]) == (data.N, 0)

    def unread(self, rows=65536):
        raise AssertionError("an unchanged source was read again")

    with monkeypatch.context() as m:
        m.setattr(ParquetSource, "batches", unread)
        again = invoke("import", src, "--json").json()
        assert (again["embedded"], again["unchanged"], again["removed"]) == (0, data.N, 0)
        invoke("stats", src, "--json")

    # Row 5 removed, row 6's vector changed, row 7's label changed, two rows added.
    keep = [i for i in range(data.N) if i != 5]
    x2 = np.concatenate([x[keep], data.vectors(2, seed=9)])
    x2[keep.index(6)] = data.vectors(1, seed=11)[0]
    keys2 = [keys[i] for i in keep] + ["new-a", "new-b"]
    labels2 = [labels[i] for i in keep] + ["cat", "dog"]
    labels2[keep.index(7)] = "fish" if labels2[keep.index(7)] != "fish" else "cat"
    data.write_parquet(src, x2, id=keys2, label=labels2)
    update = invoke("import", src, "--json").json()
    assert (update["embedded"], update["removed"], update["unchanged"]) == (4, 1, data.N - 3)
    _check_against_numpy(src, keys2, x2)

    store_dir = tmp_path / "v.parquet.vexplore"
    with Store(tmp_path, store_dir) as store:
        row = store.models()[0]
        assert row.rows == data.N + 3, "two new vectors and one changed one appended; a new label adds none"
        index = VectorIndex(store, row).open(persist=False)
        assert not index.rebuilt, "the update saved an index that matches the catalog"
        ids, _ = store.embedded(row)
        paths = store.paths_by_id(ids)
        label_of = dict(store.db.execute("SELECT path, json_extract(meta, '$.label') FROM files"))
        assert label_of[keys[7]] == labels2[keep.index(7)]
        got, _ = index.knn(x2, 1)
        assert [paths[int(i)] for i in got[:, 0]] == keys2


def test_a_stopped_import_finishes_on_the_next_run(tmp_path):
    keys, x = data.ids(), data.vectors()
    src = data.write_parquet(tmp_path / "v.parquet", x[:60], id=keys[:60])
    store_dir = tmp_path / "v.parquet.vexplore"
    import_source(open_source(str(src), Columns()), tmp_path, store_dir, ImportOptions())
    data.write_parquet(src, x, id=keys)  # 30 rows added
    stop = threading.Event()

    def stop_after_first_batch(event):
        if isinstance(event, ProgressEvent):
            stop.set()

    reader = open_source(str(src), Columns())
    half = import_source(
        reader, tmp_path, store_dir, ImportOptions(batch_rows=70), stop_after_first_batch, stop
    )
    assert half.interrupted and half.embedded == 10
    rest = invoke("import", src, "--json").json()
    assert rest["embedded"] == 20 and not rest["interrupted"]
    _check_against_numpy(src, keys, x)


def test_a_folder_scan_skips_the_store_beside_a_source(tmp_path):
    from vexplore.engine.scan import scan

    src = data.write_parquet(tmp_path / "v.parquet", data.vectors(), id=data.ids())
    (tmp_path / "notes.txt").write_text("a note beside the vectors")
    invoke("import", src)
    assert (tmp_path / "v.parquet.vexplore" / "source.json").is_file()
    entries, _ = scan(tmp_path)
    assert sorted(e.path for e in entries) == ["notes.txt"]


def test_the_same_source_named_another_way_is_current(tmp_path, monkeypatch):
    src = data.write_parquet(tmp_path / "v.parquet", data.vectors(), id=data.ids())
    invoke("import", src)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ParquetSource, "batches", lambda self, rows=0: pytest.fail("read again"))
    again = invoke("import", "v.parquet", "--json").json()
    assert (again["embedded"], again["unchanged"]) == (0, data.N)


def test_two_first_imports_at_once_keep_the_one_that_finished_first(tmp_path):
    from vexplore.engine.sources.importer import _move_into_place

    src = data.write_parquet(tmp_path / "v.parquet", data.vectors(), id=data.ids())
    store_dir = tmp_path / "v.parquet.vexplore"
    import_source(open_source(str(src), Columns()), tmp_path, store_dir, ImportOptions())
    catalog = (store_dir / "catalog.sqlite").stat().st_ino
    other = tmp_path / "other-import"  # the same source, imported by another process at the same time
    import_source(open_source(str(src), Columns()), tmp_path, other, ImportOptions())
    _move_into_place(other, store_dir)
    assert not other.exists() and (store_dir / "catalog.sqlite").stat().st_ino == catalog
    _check_against_numpy(src, data.ids(), data.vectors())
