"""The neighbor graph the store keeps (engine/audit/graphfile.py, graphstore.py, incremental.py): saved and
read back, rebuilt when damaged, never written to a read-only store, brought up to date after adds,
removals and edits to exactly what a full rebuild gives, and read by single-file neighbors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.stats_corpus import synthetic_store
from vexplore.engine.audit import graphfile, graphstore, incremental
from vexplore.engine.audit.graph import exact_knn, knn_graph
from vexplore.engine.query import Explorer, open_explorer
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.scan import Entry
from vexplore.engine.stats.report import model_vectors
from vexplore.engine.store import Store, find_store_dir

pytestmark = pytest.mark.fast


def tied_unit_vectors(n: int, seed: int, dim: int = 16) -> np.ndarray:
    """Unit vectors of four ±0.5 entries: every cosine is a multiple of 0.25, exact in float32 whatever
    the summation order, so there are ties everywhere and only the tie rule decides the order."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, dim), np.float32)
    for i in range(n):
        x[i, rng.choice(dim, 4, replace=False)] = rng.choice([-0.5, 0.5], 4)
    return x


def path_of(i: int) -> str:
    return f"g{i % 3}/f{i:05d}.txt"


def change_store(root, edit: dict[int, np.ndarray], add: dict[int, np.ndarray], remove: set[int]) -> None:
    """Edit some files' vectors, add files, remove files, as an index run would (new rows, new files)."""
    with Store(root, find_store_dir(root), create=True) as store:
        known = [p for p in store.files() if int(p[-9:-4]) not in remove]
        new = [path_of(i) for i in add]
        store.sync_files([Entry(p, p.encode(), "text", 10, 0) for p in known + new], {})
        model = store.model("synthetic")
        assert model is not None
        files = store.files()
        batch = {**edit, **add}
        store.commit_batch(model, [EmbeddedFile(files[path_of(i)], v, 2.0) for i, v in batch.items()])


def graph_now(explorer: Explorer, k: int = 10) -> graphstore.Graph:
    model, ids, x = model_vectors(explorer, None)
    got = explorer.neighbor_graph(model, ids, x, k)
    assert got is not None
    return got


def test_incremental_equals_a_full_rebuild_exactly_after_adds_removals_and_edits():
    rng = np.random.default_rng(0)
    ids = np.arange(0, 3000, 3, dtype=np.int64)
    x = tied_unit_vectors(len(ids), 1)
    k = 10
    rows, sims = exact_knn(x, k)
    saved = graphfile.StoredGraph(1, k, True, None, ids, ids[rows], sims, graphfile.fingerprints(x))
    for step in range(3):
        keep = np.ones(len(ids), bool)
        keep[rng.choice(len(ids), 6, replace=False)] = False  # removed
        ids2, x2 = ids[keep], x[keep].copy()
        x2[rng.choice(len(ids2), 5, replace=False)] = tied_unit_vectors(5, 10 + step)  # edited
        added = rng.choice(np.setdiff1d(np.arange(3100), ids2), 8, replace=False)
        ids3 = np.concatenate([ids2, added])
        x3 = np.concatenate([x2, tied_unit_vectors(8, 20 + step)])
        order = np.argsort(ids3)
        ids3, x3 = ids3[order], x3[order]
        prints = graphfile.fingerprints(x3)
        change = incremental.diff(saved, ids3, prints, k)
        assert len(change.fresh) == 13 and change.searched < len(ids3) // 4  # not a rebuild in disguise
        got = incremental.update(saved, ids3, x3, prints, lambda q, x3=x3: exact_knn(x3, k, queries=q), True)
        assert got is not None
        want_rows, want_sims = exact_knn(x3, k)
        np.testing.assert_array_equal(got.rows, want_rows)
        np.testing.assert_array_equal(got.sims, want_sims)
        saved = graphstore.stored(got, 2 + step, prints, None)
        ids, x = ids3, x3


def test_too_many_changes_ask_for_a_full_rebuild():
    x = tied_unit_vectors(400, 2)
    ids = np.arange(400, dtype=np.int64)
    rows, sims = exact_knn(x, 10)
    saved = graphfile.StoredGraph(1, 10, True, None, ids, ids[rows], sims, graphfile.fingerprints(x))
    x2 = x.copy()
    x2[: int(400 * incremental.FULL_SHARE) + 1] = tied_unit_vectors(101, 3)
    prints = graphfile.fingerprints(x2)
    assert incremental.update(saved, ids, x2, prints, lambda q: exact_knn(x2, 10, queries=q), True) is None
    assert graphfile.fingerprints(x2[:1])[0] != graphfile.fingerprints(x[:1])[0]


def test_saved_read_back_updated_rebuilt_when_damaged(tmp_path):
    root = synthetic_store(tmp_path / "s", tied_unit_vectors(1200, 4))
    first = graph_now(open_explorer(root))
    assert first.how == "built" and first.graph.exact
    folder = open_explorer(root).store.model_dir(open_explorer(root).models()[0])
    assert (folder / "graph.npz").exists() and not list(folder.glob("*.tmp"))
    again = graph_now(open_explorer(root))
    assert again.how == "saved"
    np.testing.assert_array_equal(again.graph.rows, first.graph.rows)
    np.testing.assert_array_equal(again.graph.sims, first.graph.sims)
    assert graph_now(open_explorer(root), k=4).graph.k == 4  # a narrower ask reads the saved graph

    rng = np.random.default_rng(5)
    edits = {
        int(i): v for i, v in zip(rng.choice(1200, 4, replace=False), tied_unit_vectors(4, 6), strict=True)
    }
    adds = {1200 + i: v for i, v in enumerate(tied_unit_vectors(9, 7))}
    change_store(root, edits, adds, remove={3, 500, 501, 1100})
    updated = graph_now(open_explorer(root))
    model, ids, x = model_vectors(open_explorer(root), None)
    full = knn_graph(ids, x, 10)
    assert updated.how == "updated" and len(ids) == 1200 - 4 + 9
    np.testing.assert_array_equal(updated.graph.rows, full.rows)
    np.testing.assert_array_equal(updated.graph.sims, full.sims)
    assert graph_now(open_explorer(root)).how == "saved"  # saved at the new generation

    data = bytearray((folder / "graph.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "graph.npz").write_bytes(bytes(data))
    assert graphfile.read(folder)[1] is not None
    explorer = open_explorer(root)
    rebuilt = graph_now(explorer)
    assert rebuilt.how == "built" and "damaged" in explorer.notices[-1]
    np.testing.assert_array_equal(rebuilt.graph.rows, full.rows)
    assert graphfile.read(folder)[1] is None


def test_a_read_only_store_computes_in_memory(tmp_path):
    root = synthetic_store(tmp_path / "s", tied_unit_vectors(300, 8))
    explorer = Explorer(Store(root, find_store_dir(root), readonly=True))
    got = graph_now(explorer)
    assert got.how == "built"
    assert not (explorer.store.model_dir(explorer.models()[0]) / "graph.npz").exists()


def test_single_file_neighbors_from_the_graph_equal_exact_search(tmp_path, monkeypatch):
    root = synthetic_store(tmp_path / "s", tied_unit_vectors(900, 9))
    plain = open_explorer(root)  # no graph saved: exact search, as before
    paths = [path_of(i) for i in range(0, 900, 37)]
    want = {p: [(h.path, round(h.score, 6)) for h in plain.neighbors(p, 8)[1]] for p in paths}
    graph_now(open_explorer(root))
    model = plain.models()[0]
    fid = plain.store.file_by_path(paths[1])
    assert fid is not None and open_explorer(root)._graph_hits(model, fid.id, 8) is None  # exact is cheap
    monkeypatch.setattr("vexplore.engine.query.EXACT_MAX", 100)  # as if above the crossover: graph, not index
    with_graph = open_explorer(root)
    graph_now(with_graph)
    held = with_graph._graphs["synthetic"]
    assert with_graph._graph_hits(model, fid.id, 8) is not None  # the graph answers
    for p in paths:
        assert [(h.path, round(h.score, 6)) for h in with_graph.neighbors(p, 8)[1]] == want[p]
    reader = open_explorer(root)  # another process: reads the saved graph
    assert [(h.path, round(h.score, 6)) for h in reader.neighbors(paths[0], 8)[1]] == want[paths[0]]
    assert reader._graphs["synthetic"].generation == held.generation
    assert len(reader.neighbors(paths[0], 15)[1]) == 15  # wider than the graph: the index answers
    change_store(root, {}, {}, remove={0})  # a new generation: the old graph no longer answers
    fid = reader.store.file_by_path(paths[2])
    assert fid is not None and reader._graph_hits(model, fid.id, 8) is None


def test_index_regime_updates_through_the_index(tmp_path):
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(8, 32))
    x = centres[rng.integers(0, 8, 2000)] + 0.5 * rng.normal(size=(2000, 32))
    root = synthetic_store(tmp_path / "s", x)
    explorer = open_explorer(root)

    def graph(explorer: Explorer) -> graphstore.Graph:
        model, ids, x = model_vectors(explorer, None)
        got = graphstore.model_graph(
            explorer.store, model, ids, x, 10, lambda: explorer.index(model), exact_max=0
        )
        assert got is not None
        return got

    built = graph(explorer)
    assert built.how == "built" and not built.graph.exact and built.ef is not None
    more = centres[rng.integers(0, 8, 30)] + 0.5 * rng.normal(size=(30, 32))
    more /= np.linalg.norm(more, axis=1, keepdims=True)
    change_store(root, {}, {2000 + i: v.astype(np.float32) for i, v in enumerate(more)}, remove={1, 2})
    explorer = open_explorer(root)
    updated = graph(explorer)
    assert updated.how == "updated" and not updated.graph.exact
    _, ids, xs = model_vectors(explorer, None)
    truth = knn_graph(ids, xs, 10)
    found = (updated.graph.rows[:, :, None] == truth.rows[:, None, :]).any(axis=2)
    found |= updated.graph.sims >= truth.sims[:, -1:] - 1e-5
    assert found.mean() >= 0.99


def test_stats_above_the_sample_size_read_every_file_from_a_saved_graph(tmp_path, monkeypatch):
    from vexplore.engine.stats import report

    monkeypatch.setattr(report, "KNN_SAMPLE", 500)  # the default sample, scaled down with the store
    rng = np.random.default_rng(12)
    root = synthetic_store(
        tmp_path / "s", rng.normal(size=(6, 16))[rng.integers(0, 6, 800)] + rng.normal(size=(800, 16))
    )
    opts = report.StatsOptions(knn_sample=report.KNN_SAMPLE)
    before = report.vector_stats(open_explorer(root), None, opts)
    assert before.sampled["knn"].n == 500 and before.sampled["hubness"].n == 500  # no graph: a sample
    explorer = open_explorer(root)
    model, ids, x = model_vectors(explorer, None)
    full = knn_graph(ids, x, 10)
    explorer.neighbor_graph(model, ids, x, 10)  # what an audit leaves in the store
    after = report.vector_stats(open_explorer(root), None, opts)
    for figure in ("knn", "hubness", "duplicates", "outliers", "intrinsic_dimension"):
        assert figure not in after.sampled
    assert after.hubness.antihub_share is not None
    far = 1.0 - full.sims[:, -1].astype(np.float64)  # every file's distance to its 10th, directly
    assert after.knn.distance.mean == pytest.approx(far.mean(), rel=1e-6)
    assert after.outliers[0].knn_distance == pytest.approx(far.max(), abs=1e-6)


def test_the_file_reads_as_the_readme_says(tmp_path):
    """graph.npz without vexplore: zipfile for the header, numpy for the arrays, fingerprints by hand."""
    import json
    import zipfile

    root = synthetic_store(tmp_path / "s", tied_unit_vectors(200, 13))
    explorer = open_explorer(root)
    model, ids, x = model_vectors(explorer, None)
    got = graph_now(explorer)
    path = explorer.store.model_dir(model) / "graph.npz"
    with zipfile.ZipFile(path) as zf:
        header = json.loads(zf.read("header.json"))
    assert header == {
        "format": 1,
        "generation": model.generation,
        "k": 10,
        "exact": True,
        "ef": None,
        "count": 200,
    }
    arrays = np.load(path, allow_pickle=False)
    np.testing.assert_array_equal(arrays["ids"], ids)
    np.testing.assert_array_equal(arrays["neighbors"], ids[got.graph.rows])
    np.testing.assert_array_equal(arrays["sims"], got.graph.sims)
    bits = x.view(np.uint32).astype(object)
    by_hand = [
        sum(int(b) * (2 * j + 1) * 0x9E3779B97F4A7C15 for j, b in enumerate(row)) % 2**64 for row in bits
    ]
    assert arrays["fingerprints"].tolist() == by_hand
