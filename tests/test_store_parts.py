"""The store's parts on their own: the catalog names its own file when SQLite finds a damaged page (no
matter which store the process opened last), the schema migrations only add what is missing, and a
vector file never trusts rows past the committed count."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from vexplore.engine.errors import StoreError
from vexplore.engine.migrations import FIRST_SCHEMA_VERSION, MIGRATIONS
from vexplore.engine.store import Store
from vexplore.engine.vectorfile import VectorFile


def _store_with_files(tmp_path: Path, name: str, n: int) -> Store:
    root = tmp_path / f"{name}-root"
    root.mkdir()
    store = Store(root, tmp_path / name, create=True)
    with store.db:
        store.db.executemany(
            "INSERT INTO files(path, raw, modality, size, mtime_ns, meta) VALUES (?,?,?,?,?,?)",
            [(f"f{i:05d}.txt", b"x", "text", i, i, '{"words": "' + "w" * 200 + '"}') for i in range(n)],
        )
    return store


def test_a_damaged_page_met_mid_query_names_that_catalog_not_the_last_one_opened(tmp_path):
    damaged = _store_with_files(tmp_path, "damaged", 3000)
    damaged.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root, directory = damaged.root, damaged.dir
    damaged.close()
    catalog = directory / "catalog.sqlite"
    data = catalog.read_bytes()
    whole = 16 * 4096  # the schema and every table's root page: the store opens, a full scan fails
    assert len(data) > 4 * whole
    catalog.write_bytes(data[:whole] + os.urandom(len(data) - 2 * whole) + data[-whole:])

    reader = Store(root, directory, readonly=True)
    other = _store_with_files(tmp_path, "healthy", 10)  # opened after it
    try:
        with pytest.raises(StoreError) as raised:
            reader.files()
        assert str(catalog) in str(raised.value) and str(other.dir) not in str(raised.value)
        assert str(raised.value).startswith(f"catalog {catalog} is unreadable")
        assert isinstance(raised.value.__cause__, sqlite3.DatabaseError)
        assert len(other.files()) == 10
    finally:
        reader.close()
        other.close()


def test_migrations_record_a_new_catalog_once_and_change_nothing_on_a_second_open(tmp_path):
    store = _store_with_files(tmp_path, "store", 3)
    meta = dict(store.db.execute("SELECT key, value FROM meta"))
    schema = store.db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
    root, directory = store.root, store.dir
    store.close()
    assert meta == {"schema_version": str(FIRST_SCHEMA_VERSION), "root": str(root.resolve())}

    with Store(root, directory, create=True) as again:
        for step in MIGRATIONS:  # each step sees from the schema or meta that it has run
            step(again.db, root)
        assert dict(again.db.execute("SELECT key, value FROM meta")) == meta
        assert (
            again.db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall() == schema
        )
        assert again.file_count() == 3


def test_a_vector_file_cuts_rows_past_the_committed_count(tmp_path):
    file = VectorFile(tmp_path / "model", None, 4)
    first = np.arange(8, dtype=np.float32).reshape(2, 4)
    file.append(first, committed=0)
    with open(file.path, "ab") as fh:  # a crash after an append, before its commit
        fh.write(np.ones((3, 4), np.float32).tobytes())
    file.append(first + 100, committed=2)  # never trusts the longer file
    assert file.path.stat().st_size == 4 * 4 * 4
    np.testing.assert_array_equal(file.read(2, 2), first + 100)
    np.testing.assert_array_equal(file.map(4)[:2], first)

    with open(file.path, "ab") as fh:
        fh.write(b"\0" * 10)  # a torn row
    assert file.cut_to(4) is None and file.path.stat().st_size == 4 * 4 * 4
    assert file.cut_to(6) == 4  # shorter than the catalog says: 4 whole rows are left
    with pytest.raises(StoreError, match="shorter than the catalog"):
        file.read(3, 2)

    successor = file.successor()
    assert (successor.name, successor.successor().name) == ("vectors-1.f32", "vectors-2.f32")
    successor.write([first])
    assert successor.remove_strays() == [file.path]  # the catalog now names the successor
    assert not file.path.exists() and successor.path.exists()
    np.testing.assert_array_equal(successor.map(2), first)
