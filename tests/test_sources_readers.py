"""Every reader on real files, through the real commands: `neighbors --all` on a source equals numpy's
exact neighbors of the same vectors, `stats` its norms and cosines, and the source's ids, labels and
texts land where the other commands read them."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from tests import sources_data as data
from tests.clirun import invoke

pytestmark = pytest.mark.fast
K = 5


def _parquet(tmp_path, x):
    return [
        data.write_parquet(tmp_path / "v.parquet", x, id=data.ids(), label=data.labels(), text=data.texts())
    ]


def _parquet_list(tmp_path, x):
    return [data.write_parquet(tmp_path / "v.parquet", x, fixed=False, id=data.ids(), label=data.labels())]


def _pandas(tmp_path, x):
    return [data.write_pandas_parquet(tmp_path / "p.parquet", x, id=data.ids(), label=data.labels())]


def _npy_jsonl(tmp_path, x):
    np.save(tmp_path / "v.npy", x)
    meta = data.write_meta_jsonl(tmp_path / "meta.jsonl", id=data.ids(), label=data.labels())
    return [tmp_path / "v.npy", "--meta", meta]


def _npy_csv(tmp_path, x):
    np.save(tmp_path / "v.npy", x)
    rows = "".join(f"{i},{lab}\n" for i, lab in zip(data.ids(), data.labels(), strict=True))
    (tmp_path / "meta.csv").write_text("id,label\n" + rows)
    return [tmp_path / "v.npy", "--meta", tmp_path / "meta.csv"]


def _npz_parquet_meta(tmp_path, x):
    import pyarrow as pa
    import pyarrow.parquet as pq

    np.savez(tmp_path / "v.npz", embeddings=x)
    pq.write_table(pa.table({"id": data.ids(), "label": data.labels()}), tmp_path / "meta.parquet")
    return [tmp_path / "v.npz", "--meta", tmp_path / "meta.parquet"]


def _npz_arrays(tmp_path, x):
    np.savez(tmp_path / "v.npz", vectors=x, id=np.array(data.ids()), label=np.array(data.labels()))
    return [tmp_path / "v.npz"]


def _llm(tmp_path, x):
    other = data.vectors(10, 8, seed=3)
    db = data.write_llm(
        tmp_path / "embeddings.db",
        {"docs": (data.ids(), x, data.texts()), "other": ([str(i) for i in range(10)], other, None)},
    )
    return [db, "--table", "docs"]


SOURCES = {
    "parquet-fixed": _parquet,
    "parquet-list": _parquet_list,
    "pandas": _pandas,
    "npy-jsonl": _npy_jsonl,
    "npy-csv": _npy_csv,
    "npz-parquet-meta": _npz_parquet_meta,
    "npz-arrays": _npz_arrays,
    "llm": _llm,
}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_neighbors_and_stats_equal_numpy(tmp_path, kind):
    x = data.vectors()
    args = SOURCES[kind](tmp_path, x)
    expected = data.exact_neighbors(data.ids(), x, K)

    got = invoke("neighbors", *args, "--all", "-k", K, "--json").json_lines()
    assert len(got) == data.N
    for line in got:
        want = expected[line["path"]]
        assert [h["path"] for h in line["neighbors"]] == [p for p, _ in want]
        assert np.allclose([h["score"] for h in line["neighbors"]], [s for _, s in want], atol=1e-5)

    stats = invoke("stats", *args, "--json").json()
    norms = np.linalg.norm(x, axis=1)
    assert (stats["count"], stats["dim"]) == (data.N, data.DIM)
    assert stats["norms"]["min"] == pytest.approx(norms.min(), rel=1e-5)
    assert stats["norms"]["mean"] == pytest.approx(norms.mean(), rel=1e-5)
    assert stats["norms"]["max"] == pytest.approx(norms.max(), rel=1e-5)
    unit = x / norms[:, None]
    pairs = (unit @ unit.T)[np.triu_indices(data.N, 1)]
    assert stats["pairwise_cosine"]["mean"] == pytest.approx(pairs.mean(), abs=1e-5)

    one = invoke("neighbors", *args, "doc-007", "-k", K, "--json").json()
    assert [h["path"] for h in one["neighbors"]] == [p for p, _ in expected["doc-007"]]


def test_labels_and_texts_reach_audit_and_previews(tmp_path):
    x = data.vectors()
    src = data.write_parquet(tmp_path / "v.parquet", x, id=data.ids(), label=data.labels(), text=data.texts())
    audit = invoke("audit", src, "--json").json()
    assert audit["labels"] == sorted(data.LABELS)
    store = tmp_path / "v.parquet.vexplore"
    db = sqlite3.connect(store / "catalog.sqlite")
    rows = dict(db.execute("SELECT path, text FROM files"))
    assert rows == dict(zip(data.ids(), data.texts(), strict=True))
    assert {m for (m,) in db.execute("SELECT DISTINCT modality FROM files")} == {"vector"}


def test_named_columns_and_row_number_ids(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    x = data.vectors(30)
    flat = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), data.DIM)
    other = pa.FixedSizeListArray.from_arrays(pa.array(np.ones(30 * 3, np.float32)), 3)
    pq.write_table(pa.table({"emb_a": flat, "emb_b": other, "kind": ["a"] * 30}), tmp_path / "two.parquet")
    ambiguous = invoke("stats", tmp_path / "two.parquet", expect=2)
    assert "--vector-column" in ambiguous.stderr and "Traceback" not in ambiguous.stderr
    got = invoke(
        "neighbors",
        tmp_path / "two.parquet",
        "4",
        "--vector-column",
        "emb_a",
        "--label-column",
        "kind",
        "--json",
    ).json()
    want = data.exact_neighbors([str(i) for i in range(30)], x, 10)["4"]
    assert [h["path"] for h in got["neighbors"]] == [p for p, _ in want]


def test_export_sidecar_reads_back(tmp_path):
    x = data.vectors()
    src = data.write_parquet(tmp_path / "v.parquet", x, id=data.ids())
    invoke("export", src, "--format", "npy", "--out", tmp_path / "out" / "e.npy")
    got = invoke("neighbors", tmp_path / "out" / "e.npy", "doc-010", "-k", 3, "--json").json()
    want = data.exact_neighbors(data.ids(), x, 3)["doc-010"]
    assert [h["path"] for h in got["neighbors"]] == [p for p, _ in want]


def test_search_embeds_the_query_with_the_named_model(tmp_path):
    from vexplore.engine.models import registry

    adapter = registry.create(registry.resolve("toy"))
    adapter.load("cpu")
    sentences = ["the cat sat on the mat", "stock markets fell sharply", "a recipe for tomato soup"]
    x = np.asarray(adapter.embed_text(sentences), np.float32)
    src = data.write_parquet(tmp_path / "s.parquet", x, text=sentences)
    unnamed = invoke("search", src, "tomato soup", expect=2)
    assert "--model" in unnamed.stderr
    got = invoke("search", src, "a recipe for tomato soup", "--model", "toy", "-k", 1, "--json").json()
    assert got["results"][0]["path"] == "2"


def test_path_column_points_at_the_real_files(tmp_path):
    from vexplore.engine.loader import file_path
    from vexplore.engine.store import Store

    files = tmp_path / "files"
    (files / "notes").mkdir(parents=True)
    names = [f"notes/n{i}.txt" for i in range(12)]
    for i, name in enumerate(names):
        (files / name).write_text(f"note number {i}")
    x = data.vectors(12)
    src = data.write_parquet(tmp_path / "p.parquet", x, id=[f"n{i}" for i in range(12)], file_path=names)
    got = invoke(
        "neighbors", src, "n3", "--path-column", "file_path", "--root", files, "-k", 2, "--json"
    ).json()
    want = data.exact_neighbors([f"n{i}" for i in range(12)], x, 2)["n3"]
    assert [h["path"] for h in got["neighbors"]] == [p for p, _ in want]
    with Store(files, tmp_path / "p.parquet.vexplore", readonly=True) as store:
        row = store.file_by_path("n3")
        assert row is not None and row.modality == "text"
        assert file_path(files, row).read_text() == "note number 3"
