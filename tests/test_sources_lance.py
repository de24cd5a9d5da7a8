"""The LanceDB reader on real tables made with `lancedb.connect(...).create_table`."""

from __future__ import annotations

import json
import sys

import lancedb
import numpy as np
import pyarrow as pa
import pytest

from tests.sourcerows import read_all
from vexplore.engine.errors import UserError
from vexplore.engine.extras import MissingExtra
from vexplore.engine.sources.base import Columns
from vexplore.engine.sources.lance import LanceSource

pytestmark = pytest.mark.fast


def _rows(n: int, dim: int, seed: int) -> tuple[np.ndarray, list[dict]]:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    rows = [
        {"id": f"item{seed}-{i}", "vector": vectors[i], "label": ["a", "b", None][i % 3], "text": f"t{i}"}
        for i in range(n)
    ]
    return vectors, rows


@pytest.fixture
def db(tmp_path):
    """A database with two tables: 'docs' (conventional names) and 'images' (its own names)."""
    conn = lancedb.connect(str(tmp_path / "db"))
    vectors, rows = _rows(45, 8, seed=1)
    conn.create_table("docs", data=rows)
    rng = np.random.default_rng(2)
    conn.create_table(
        "images",
        data=[
            {
                "uid": i,
                "clip": rng.normal(size=4).astype(np.float32),
                "species": f"s{i % 2}",
                "file": f"{i}.jpg",
            }
            for i in range(10)
        ],
    )
    return tmp_path / "db", vectors, rows


def test_table_streams_every_row(db):
    folder, vectors, rows = db
    assert LanceSource.sniff(str(folder)) and LanceSource.sniff(str(folder / "docs.lance"))
    assert not LanceSource.sniff(str(folder.parent))
    source = LanceSource(str(folder), Columns(), table="docs")
    info = source.describe()
    assert (info.kind, info.rows, info.dim) == ("lancedb", 45, 8)
    assert info.columns == ["id", "vector", "label", "text"] and info.location.endswith("#docs")
    got = read_all(source, 10)
    assert got.sizes == [10, 10, 10, 10, 5]
    assert got.ids == [r["id"] for r in rows]
    np.testing.assert_array_equal(got.matrix, vectors)
    assert got.labels == [r["label"] for r in rows] and got.texts == [r["text"] for r in rows]
    assert got.problems == {}
    # The table's own folder opens it too; a write makes a new version, so a new fingerprint.
    direct = LanceSource(str(folder / "docs.lance"), Columns())
    assert direct.describe().fingerprint == info.fingerprint
    lancedb.connect(str(folder)).open_table("docs").add(_rows(1, 8, seed=9)[1])
    changed = LanceSource(str(folder / "docs.lance"), Columns()).describe()
    assert changed.rows == 46 and changed.fingerprint != info.fingerprint


def test_several_tables_need_a_choice(db):
    folder = str(db[0])
    with pytest.raises(
        UserError, match=r"several LanceDB tables \(docs, images\): pick one with --table"
    ) as err:
        LanceSource(folder, Columns())
    assert "\n" not in str(err.value)
    with pytest.raises(UserError, match=r"no LanceDB table 'pets'; its tables: docs, images"):
        LanceSource(folder, Columns(), table="pets")
    with pytest.raises(UserError, match="is the LanceDB table 'docs', not 'images'"):
        LanceSource(str(db[0] / "docs.lance"), Columns(), table="images")


def test_named_columns(db):
    folder = str(db[0])
    source = LanceSource(folder, Columns(id="uid", label="species", path="file"), table="images")
    got = read_all(source, 4)
    assert got.ids == [str(i) for i in range(10)]
    assert got.labels == [f"s{i % 2}" for i in range(10)] and got.paths == [f"{i}.jpg" for i in range(10)]
    assert got.matrix.shape == (10, 4) and got.texts == [None] * 10
    with pytest.raises(UserError, match=r"no column 'kind' \(--label-column\); its columns: uid, clip"):
        LanceSource(folder, Columns(label="kind"), table="images")


def test_no_vector_column_and_missing_extra(tmp_path, monkeypatch):
    conn = lancedb.connect(str(tmp_path / "plain"))
    conn.create_table("notes", data=[{"id": "a", "text": "x"}])
    with pytest.raises(UserError, match="has no vector column .*; its columns: id, text"):
        LanceSource(str(tmp_path / "plain"), Columns())
    with pytest.raises(UserError, match="holds no LanceDB table"):
        LanceSource(str(tmp_path), Columns())
    monkeypatch.setitem(sys.modules, "lancedb", None)
    with pytest.raises(
        MissingExtra, match=r"needs lancedb, which is not installed: pip install 'vexplore\[lancedb\]'"
    ):
        LanceSource(str(tmp_path / "plain"), Columns())


def test_damaged_data_file_is_one_line(db):
    folder = db[0]
    for data in (folder / "docs.lance" / "data").iterdir():
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    source = LanceSource(str(folder), Columns(), table="docs")
    with pytest.raises(UserError, match="cannot read LanceDB table 'docs'") as err:
        list(source.batches(10))
    assert "\n" not in str(err.value)


def test_embedding_function_metadata_names_the_model_and_text(tmp_path):
    """A table made with LanceDB's embedding API says which model made the vectors and from which
    column: the schema metadata it writes (written here as it writes it, without loading a model)."""
    functions = [
        {
            "name": "sentence-transformers",
            "model": {"device": "cpu"},
            "source_column": "body",
            "vector_column": "vector",
        }
    ]
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("body", pa.string()),
            ("text", pa.string()),
            ("vector", pa.list_(pa.float32(), 3)),
        ],
        metadata={"embedding_functions": json.dumps(functions)},
    )
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    data = pa.table(
        {
            "id": ["a", "b"],
            "body": ["embedded", "text"],
            "text": ["other", "column"],
            "vector": pa.FixedSizeListArray.from_arrays(vectors.reshape(-1), 3),
        },
        schema=schema,
    )
    lancedb.connect(str(tmp_path / "db")).create_table("docs", data=data)
    source = LanceSource(str(tmp_path / "db"), Columns())
    assert source.describe().model == "sentence-transformers/all-MiniLM-L6-v2"  # LanceDB's default
    got = read_all(source, 10)
    assert got.texts == ["embedded", "text"]  # the source column, before the 'text' convention
    np.testing.assert_array_equal(got.matrix, vectors)
    assert read_all(LanceSource(str(tmp_path / "db"), Columns(text="text")), 10).texts == ["other", "column"]


def test_which_folders_are_databases(db, tmp_path):
    """A database folder with a few stray files is still one; a folder of files is not, even with a
    table copied in among them (a folder of many files is not listed to the end to find out)."""
    from vexplore.engine.sources import lance

    path = db[0]
    (path / "README.md").write_text("our tables")
    assert LanceSource.sniff(str(path)) and LanceSource.sniff(str(path / "docs.lance"))
    files = tmp_path / "photos"
    files.mkdir()
    for i in range(lance.STRAYS + 1):
        (files / f"{i:03d}.jpg").write_bytes(b"")
    assert not LanceSource.sniff(str(files))
    assert not LanceSource.sniff(str(tmp_path / "nothing-here"))
