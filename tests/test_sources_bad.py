"""Bad vectors sources: a row that cannot be imported gets a reason (recorded like a file that failed
to embed), anything else is one clear line and exit 2, and a failed first import leaves no store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import sources_data as data
from tests.clirun import invoke

pytestmark = pytest.mark.fast


def _one_line(result) -> str:
    assert result.code == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vexplore: error: "), result.stderr
    return lines[0]


def _no_store(tmp_path) -> None:
    assert not [p.name for p in tmp_path.iterdir() if ".vexplore" in p.name]


def test_bad_rows_get_reasons_and_the_rest_imports(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    x = data.vectors(12).astype(np.float64)
    x[2, 5] = np.nan
    x[3, 0] = np.inf
    x[4] = 0.0
    rows = [list(v) for v in x]
    rows[5] = rows[5][:-3]  # ragged: a row of another dimension
    rows[6] = None
    keys = [f"k{i}" for i in range(12)]
    pq.write_table(
        pa.table({"id": keys, "embedding": pa.array(rows, pa.list_(pa.float64()))}), tmp_path / "b.parquet"
    )

    ran = invoke("import", tmp_path / "b.parquet", "--json")
    events = [json.loads(line) for line in ran.stderr.strip().splitlines()]
    assert [e["event"] for e in events][:1] == ["model"] and events[-1]["event"] == "done"
    assert sorted(e["path"] for e in events if e["event"] == "error") == ["k2", "k3", "k4", "k5", "k6"]
    summary = ran.json()
    reasons = {e["path"]: e["reason"] for e in summary["errors"]}
    assert set(reasons) == {"k2", "k3", "k4", "k5", "k6"}
    assert "NaN" in reasons["k2"] and "NaN" in reasons["k3"]
    assert "all-zero" in reasons["k4"]
    assert f"has {data.DIM - 3} values" in reasons["k5"]
    assert reasons["k6"] == "no vector"
    assert summary["embedded"] == 7 and summary["failed"] == 5

    stats = invoke("stats", tmp_path / "b.parquet", "--json").json()
    assert stats["count"] == 7
    refused = _one_line(invoke("neighbors", tmp_path / "b.parquet", "k4", expect=None))
    assert "all-zero" in refused
    good = [i for i in range(12) if i not in (2, 3, 4, 5, 6)]
    want = data.exact_neighbors([keys[i] for i in good], x[good].astype(np.float32), 3)["k0"]
    got = invoke("neighbors", tmp_path / "b.parquet", "k0", "-k", 3, "--json").json()
    assert [h["path"] for h in got["neighbors"]] == [p for p, _ in want]


def test_llm_blob_of_another_width_is_a_row_reason(tmp_path):
    import sqlite3

    db = data.write_llm(tmp_path / "e.db", {"c": (data.ids(20), data.vectors(20), None)})
    con = sqlite3.connect(db)
    con.execute("UPDATE embeddings SET embedding = ? WHERE id = 'doc-004'", (b"\x00" * 12,))
    con.commit()
    con.close()
    summary = invoke("import", db, "--json").json()
    assert [(e["path"], e["reason"]) for e in summary["errors"]] == [
        ("doc-004", f"vector has 3 values, the others {data.DIM}")
    ]


def test_non_numeric_vector_column(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a", "b"], "vector": [["x", "y"], ["z", "w"]]}), tmp_path / "s.parquet")
    line = _one_line(invoke("stats", tmp_path / "s.parquet", expect=None))
    assert "has no vector column" in line
    named = _one_line(invoke("stats", tmp_path / "s.parquet", "--vector-column", "vector", expect=None))
    assert "is not a vector column" in named
    np.save(tmp_path / "o.npy", np.array(["a", "b"]).reshape(2, 1))
    assert "not numbers" in _one_line(invoke("stats", tmp_path / "o.npy", expect=None))
    _no_store(tmp_path)


def test_duplicate_ids_leave_no_store(tmp_path):
    keys = data.ids(40)
    keys[33] = keys[3]
    src = data.write_parquet(tmp_path / "d.parquet", data.vectors(40), id=keys)
    line = _one_line(invoke("import", src, expect=None))
    assert "duplicate id 'doc-003' (row 33)" in line
    _no_store(tmp_path)


def test_duplicate_in_a_later_batch_leaves_no_store(tmp_path):
    from vexplore.engine.errors import UserError
    from vexplore.engine.sources.base import Columns
    from vexplore.engine.sources.detect import open_source
    from vexplore.engine.sources.importer import ImportOptions, import_source

    keys = data.ids(40)
    keys[39] = keys[0]
    src = data.write_parquet(tmp_path / "d.parquet", data.vectors(40), id=keys)
    reader = open_source(str(src), Columns())
    with pytest.raises(UserError, match="duplicate id"):
        import_source(reader, tmp_path, tmp_path / "d.parquet.vexplore", ImportOptions(batch_rows=8))
    _no_store(tmp_path)


def test_meta_with_the_wrong_row_count(tmp_path):
    np.save(tmp_path / "v.npy", data.vectors(10))
    meta = data.write_meta_jsonl(tmp_path / "m.jsonl", id=data.ids(9))
    line = _one_line(invoke("stats", tmp_path / "v.npy", "--meta", meta, expect=None))
    assert "9 metadata rows for 10 vectors" in line
    _no_store(tmp_path)


def test_truncated_files(tmp_path):
    src = data.write_parquet(tmp_path / "t.parquet", data.vectors(), id=data.ids())
    src.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    assert "parquet" in _one_line(invoke("stats", src, expect=None))
    np.save(tmp_path / "t.npy", data.vectors())
    cut = tmp_path / "t.npy"
    cut.write_bytes(cut.read_bytes()[:1000])
    assert "truncated" in _one_line(invoke("stats", cut, expect=None))
    _no_store(tmp_path)


def test_unknown_format_and_kind(tmp_path):
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01 not vectors")
    assert "not a vectors source" in _one_line(invoke("import", tmp_path / "notes.bin", expect=None))
    line = _one_line(invoke("stats", tmp_path / "notes.bin", "--source-kind", "parquet", expect=None))
    assert "not a readable parquet file" in line
    line = _one_line(invoke("stats", tmp_path / "notes.bin", "--source-kind", "csv", expect=None))
    assert "unknown source kind 'csv'" in line
    _no_store(tmp_path)


def test_llm_with_several_collections_needs_table(tmp_path):
    db = data.write_llm(
        tmp_path / "e.db",
        {"a": (data.ids(5), data.vectors(5), None), "b": (data.ids(5), data.vectors(5), None)},
    )
    line = _one_line(invoke("stats", db, expect=None))
    assert "2 collections (a, b): name one with --table" in line
    assert "no collection 'c'" in _one_line(invoke("stats", db, "--table", "c", expect=None))


def test_index_points_a_source_at_import(tmp_path):
    src = data.write_parquet(tmp_path / "v.parquet", data.vectors(10), id=data.ids(10))
    assert "vexplore import" in _one_line(invoke("index", src, expect=None))
    _no_store(tmp_path)
