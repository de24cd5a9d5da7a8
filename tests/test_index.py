"""The hnswlib index against exact search, persisted and rebuilt, on real store rows."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from vexplore.engine.index import RECALL_TARGET, VectorIndex, normalise
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.store import Store


def make_store(tmp_path, n=600, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(12, dim))
    vecs = normalise(centers[rng.integers(0, 12, n)] + 0.35 * rng.normal(size=(n, dim)))
    root = tmp_path / "root"
    root.mkdir()
    store = Store(root, tmp_path / "store", create=True)
    with store.db:
        for i in range(n):
            store.db.execute(
                "INSERT INTO files(path, raw, modality, size, mtime_ns) VALUES (?,?,?,?,?)",
                (f"f{i:04d}.txt", f"f{i:04d}.txt".encode(), "text", 1, 1),
            )
    model = store.ensure_model("synthetic", "text", "test", ("text",), dim, False, {})
    files = list(store.files().values())
    results = [EmbeddedFile(f, vecs[int(f.path[1:5])], 1.0) for f in files]
    store.commit_batch(model, results)
    return store, vecs


def test_recall_meets_target_and_matches_exact(tmp_path):
    store, vecs = make_store(tmp_path)
    model = store.models()[0]
    index = VectorIndex(store, model).open()
    assert index.recall is not None and index.recall >= RECALL_TARGET == 0.99
    ids = {f.path: f.id for f in store.files().values()}
    q = vecs[7]
    got, scores = index.knn(q, 10)
    exact = np.argsort(-(vecs @ q))[:10]
    exact_ids = {ids[f"f{i:04d}.txt"] for i in exact}
    assert len(exact_ids & set(got[0].tolist())) >= 9
    assert np.all(np.diff(scores[0]) <= 1e-6) and abs(scores[0][0] - 1.0) < 1e-4


def test_saved_index_reloads_and_corruption_rebuilds(tmp_path):
    store, _ = make_store(tmp_path, n=200)
    model = store.models()[0]
    first = VectorIndex(store, model).open()
    assert first.rebuilt and first.path.exists()
    second = VectorIndex(store, model).open()
    assert not second.rebuilt and second.ef == first.ef
    first.path.write_bytes(first.path.read_bytes()[:1000])  # truncated
    third = VectorIndex(store, model).open()
    assert third.rebuilt and "damaged" in third.notice
    assert third.knn(store.vectors(model)[3], 1)[0][0][0] == 4  # row 3 is file id 4


def test_remove_and_replace(tmp_path):
    store, vecs = make_store(tmp_path, n=100)
    model = store.models()[0]
    index = VectorIndex(store, model).open()
    index.remove([1])
    got, _ = index.knn(vecs[0], 5)
    assert 1 not in got[0]
    index.add(np.array([1]), vecs[50][None, :])  # re-added with a new vector: found near row 50
    got, _ = index.knn(vecs[50], 2)
    assert set(got[0].tolist()) == {1, 51}


def test_crash_leftover_rows_are_truncated(tmp_path):
    store, _ = make_store(tmp_path, n=10)
    model = store.models()[0]
    path = store.vector_path(model)
    size = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(b"\x00" * (model.dim * 4 * 3 + 5))  # an append that never committed
    store.repair_vectors(model)
    assert path.stat().st_size == size


def test_readonly_store_opens_without_writing(tmp_path):
    store, _ = make_store(tmp_path, n=20)
    store.close()
    ro = Store(tmp_path / "root", tmp_path / "store", readonly=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        ro.db.execute("DELETE FROM files")
    assert len(ro.files()) == 20


@pytest.mark.fast
def test_small_stores_answer_exactly(synthetic):
    """Below the crossover (index.EXACT_MAX) a file's neighbors, one at a time or all at once, are
    exactly the nearest by cosine, ties by file id: what the index only approximates."""
    from vexplore.engine.query import open_explorer

    explorer = open_explorer(synthetic)
    model = explorer.model("synthetic")
    ids, rows = explorer.store.embedded(model)
    x = np.asarray(explorer.store.vectors(model))[rows]
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    order = np.lexsort((np.broadcast_to(ids, sims.shape), -sims), axis=1)[:, :10]
    paths = explorer.store.paths_by_id(ids)
    want = {paths[int(f)]: [paths[int(ids[j])] for j in order[i]] for i, f in enumerate(ids)}
    for path in list(want)[::37]:
        _, hits = explorer.neighbors(path, k=10)
        assert [h.path for h in hits] == want[path], path
    every = {path: [h.path for h in hits] for path, _, hits in explorer.all_neighbors(k=10)}
    assert every == want
    # A query vector of any length (a text tower's is not unit) scores as its cosine.
    hits = explorer.nearest(model, 3.0 * x[0], k=3)
    assert hits[0].path == paths[int(ids[0])] and abs(hits[0].score - 1.0) < 1e-5
