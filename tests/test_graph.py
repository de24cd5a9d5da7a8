"""The audit's neighbor graph: exact search against a direct n × n computation (ties and duplicates
included), bounded blocks, and the index path's recall against exact search on clustered vectors."""

from __future__ import annotations

import numpy as np
import pytest

from vexplore.engine.audit import graph
from vexplore.engine.audit.graph import exact_knn, knn_graph
from vexplore.engine.index import VectorIndex, normalise
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.store import Store

pytestmark = pytest.mark.fast


def brute(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair at once: each row's k best others, ties by lower column."""
    s = x.astype(np.float64) @ x.T.astype(np.float64)
    np.fill_diagonal(s, -np.inf)
    cols = np.arange(len(x))
    rows = np.array([np.lexsort((cols, -row))[:k] for row in s])
    return rows, np.take_along_axis(s, rows, axis=1)


def integer_vectors(n: int, dim: int = 12, seed: int = 0) -> np.ndarray:
    """Small integers: every dot product is exact in float32 whatever the summation order, so ties are
    real ties (many of them), and exact copies are planted on top."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, size=(n, dim)).astype(np.float32)
    x[n // 2 : n // 2 + 6] = x[3]  # a group of seven exact copies
    x[-1] = x[0]
    return x


@pytest.mark.parametrize("n", [50, 333, 1000])  # fewer columns than k groups; n not a multiple of CHUNK
@pytest.mark.parametrize("workers", [1, 2])
def test_exact_matches_brute_force_with_ties(n, workers):
    x = integer_vectors(n)
    want_rows, want_sims = brute(x, 10)
    for block_bytes in (4 * n * 7, graph.BLOCK_BYTES):  # blocks of 7 rows; one block
        rows, sims = exact_knn(x, 10, workers=workers, block_bytes=block_bytes)
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(sims, want_sims.astype(np.float32))
    copies = [3, *range(n // 2, n // 2 + 6)]
    for c in copies:  # each copy's six nearest are the other six copies, lowest row first
        assert rows[c, :6].tolist() == [o for o in copies if o != c]


@pytest.mark.parametrize("k", [2, 5])  # k 2: ties over more groups than WIDE_TIE × k, so rows are sorted
def test_a_block_of_copies_takes_the_lowest_rows(k):
    x = np.ones((700, 8), np.float32)  # every pair ties: each file's neighbors are the lowest other rows
    x[600:] = np.eye(8)[np.arange(100) % 8]
    rows, sims = exact_knn(x, k, block_bytes=4 * 700 * 50)
    want_rows, want_sims = brute(x, k)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_array_equal(sims, want_sims.astype(np.float32))
    assert rows[0].tolist() == [1, 2, 3, 4, 5][:k] and rows[7].tolist() == [0, 1, 2, 3, 4][:k]


def test_exact_on_unit_vectors_and_small_stores():
    rng = np.random.default_rng(3)
    x = normalise(rng.normal(size=(8, 64))[rng.integers(0, 8, 1500)] + 0.3 * rng.normal(size=(1500, 64)))
    rows, sims = exact_knn(x, 15)
    want_rows, want_sims = brute(x, 15)
    np.testing.assert_allclose(sims, want_sims, atol=1e-5)
    assert (rows == want_rows).mean() > 0.999  # float32 rounding may swap near-ties
    assert not (rows == np.arange(len(x))[:, None]).any()
    two = knn_graph(np.array([4, 9]), x[:2], 10)
    assert two.k == 1 and two.rows.tolist() == [[1], [0]] and two.exact
    assert knn_graph(np.array([4]), x[:1], 10).k == 0


def test_blocks_bound_memory_and_progress_reaches_the_end(monkeypatch):
    x = integer_vectors(900)
    seen: list[int] = []
    block = graph._block

    def spy(x, queries, k):
        seen.append(len(queries))
        return block(x, queries, k)

    monkeypatch.setattr(graph, "_block", spy)
    progress: list[tuple[int, int]] = []
    budget = 4 * 900 * 64  # 64 rows of similarities
    exact_knn(x, 5, progress=lambda done, total: progress.append((done, total)), block_bytes=budget)
    assert max(seen) * 900 * 4 <= budget and sum(seen) == 900 and len(seen) == -(-900 // 64)
    assert progress[-1] == (900, 900) and [d for d, _ in progress] == sorted(d for d, _ in progress)


def clustered_store(tmp_path, n=3000, dim=64) -> tuple[Store, np.ndarray]:
    """Clustered unit vectors in a real store, clusters of varied spread, as embeddings are; loose enough
    that the index at its lowest ef misses the graph's recall target."""
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(30, dim))
    which = rng.integers(0, 30, n)
    spread = rng.uniform(0.8, 1.5, 30)[which][:, None]
    vecs = normalise(centres[which] + spread * rng.normal(size=(n, dim)))
    root = tmp_path / "root"
    root.mkdir()
    store = Store(root, tmp_path / "store", create=True)
    with store.db:
        store.db.executemany(
            "INSERT INTO files(path, raw, modality, size, mtime_ns) VALUES (?,?,?,?,?)",
            [(f"f{i:05d}.txt", f"f{i:05d}.txt".encode(), "text", 1, 1) for i in range(n)],
        )
    model = store.ensure_model("synthetic", "text", "test", ("text",), dim, False, {})
    files = list(store.files().values())
    store.commit_batch(model, [EmbeddedFile(f, vecs[int(f.path[1:6])], 1.0) for f in files])
    return store, vecs


def test_index_graph_reaches_the_recall_target_and_leaves_ef_alone(tmp_path):
    store, _ = clustered_store(tmp_path)
    model = store.models()[0]
    index = VectorIndex(store, model).open(persist=False)
    # As if tuned low (k + 1, the least a query of k others asks): the graph raises it for itself only.
    index.ef = 11
    ids, rows = store.embedded(model)
    x = np.asarray(store.vectors(model)[rows])
    truth = knn_graph(ids, x, 10)
    progress: list[int] = []
    approx = knn_graph(ids, x, 10, index, progress=lambda d, t: progress.append(d), exact_max=100)
    assert truth.exact and not approx.exact and progress[-1] == len(ids)
    assert index.ef == 11
    kth = truth.sims[:, -1:]
    found = (approx.rows[:, :, None] == truth.rows[:, None, :]).any(axis=2) | (approx.sims >= kth - 1e-5)
    assert found.mean() >= 0.99
    assert not (approx.rows == np.arange(len(ids))[:, None]).any()
    assert (np.diff(approx.sims, axis=1) <= 1e-6).all()
    with graph.graph_ef(index, ids, x, 10) as ef:
        assert ef > 11 and index.ef == ef  # 11 misses 0.99 on this data, so the sample chose more
    low = graph.graph_recall(index, ids, x, np.arange(len(ids)), truth.rows, truth.sims[:, -1], 11)
    assert low < graph.GRAPH_RECALL <= found.mean()
    assert index.ef == 11


def test_an_index_out_of_step_with_the_vectors_is_refused(tmp_path):
    store, _ = clustered_store(tmp_path, n=600)
    model = store.models()[0]
    index = VectorIndex(store, model).open(persist=False)
    ids, rows = store.embedded(model)
    x = np.asarray(store.vectors(model)[rows])
    keep = np.arange(len(ids)) % 3 != 0  # the index holds files these vectors leave out
    with pytest.raises(RuntimeError, match="out of step"):
        graph.index_knn(index, ids[keep], x[keep], 10)
