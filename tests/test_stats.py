"""`vector_stats` against a direct numpy computation on the same vectors: a real store built by the real
pipeline with MiniLM and a tiny random model, and a synthetic store for the sampled paths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests import stats_corpus
from tests.clirun import run_cli
from tests.stats_corpus import exact_knn, raw_vectors, synthetic_store
from vexplore.engine.query import open_explorer
from vexplore.engine.stats import StatsOptions, vector_stats
from vexplore.engine.stats.canvas import Scatter
from vexplore.engine.stats.neighbors import TWONN_MIN_R
from vexplore.engine.stats.projection import umap_available

pytestmark = pytest.mark.slow

TOP_KEYS = [
    "model",
    "count",
    "dim",
    "dtype",
    "modalities",
    "norms",
    "per_dim",
    "anisotropy",
    "pairwise_cosine",
    "pca",
    "index",
    "knn",
    "hubness",
    "duplicates",
    "outliers",
    "intrinsic_dimension",
    "clusters",
    "projection",
    "sampled",
    "timings",
    "seconds",
]


def population_skew(v: np.ndarray) -> float:
    v = v.astype(np.float64)
    return float(((v - v.mean()) ** 3).mean() / v.std() ** 3)


def test_figures_match_numpy(labelled):
    root, _ = labelled
    paths, x, norms = raw_vectors(root, "minilm")
    r = vector_stats(open_explorer(root), "minilm", StatsOptions(k=5, clusters=4))
    n, d = x.shape
    doc = r.to_json()
    assert list(doc) == TOP_KEYS
    assert (r.count, r.dim, r.dtype) == (n, d, "float32") == (26, 384, "float32")
    assert r.sampled == {}  # small store: every figure is exact
    assert json.loads(json.dumps(doc)) == doc  # plain JSON all the way down

    np.testing.assert_allclose(r.per_dim.mean, x.mean(0), atol=2e-6)
    np.testing.assert_allclose(r.per_dim.std, x.std(0), atol=2e-6)
    assert set(r.per_dim.dead) == set(np.flatnonzero(x.std(0) < 1e-6).tolist())
    assert r.per_dim.top_variance[0] == int(np.argmax(x.var(0)))

    sims = x @ x.T
    pairs = sims[np.triu_indices(n, 1)]
    assert r.anisotropy.mean_pairwise_cosine == pytest.approx(pairs.mean(), abs=1e-5)
    assert r.pairwise_cosine.mean == pytest.approx(pairs.mean(), abs=1e-5)
    assert (r.pairwise_cosine.min, r.pairwise_cosine.max) == pytest.approx(
        (pairs.min(), pairs.max()), abs=1e-5
    )
    assert sum(r.pairwise_cosine.histogram.counts) == len(pairs)
    centroid = x.mean(0)
    to_c = x @ (centroid / np.linalg.norm(centroid))
    assert r.anisotropy.centroid_norm == pytest.approx(np.linalg.norm(centroid), abs=1e-5)
    assert r.anisotropy.cosine_to_centroid.mean == pytest.approx(to_c.mean(), abs=1e-5)
    assert r.anisotropy.cosine_to_centroid.min == pytest.approx(to_c.min(), abs=1e-5)

    sv = np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2
    ratio = sv / sv.sum()
    np.testing.assert_allclose(r.pca.explained_variance_ratio, ratio[:20], atol=1e-5)
    assert r.pca.components_for_90 == int(np.argmax(np.cumsum(ratio) >= 0.9) + 1)

    assert r.norms.mean == pytest.approx(norms.mean(), abs=1e-6)
    assert r.norms.max == pytest.approx(norms.max(), abs=1e-6)

    # k-NN figures from the index equal brute force here (26 vectors: the index is exact).
    order, nn = exact_knn(x, 5)
    assert r.index.recall_at_ef == 1.0
    assert r.knn.distance.mean == pytest.approx((1 - nn[:, -1]).mean(), abs=1e-5)
    counts = np.bincount(order.ravel(), minlength=n)
    assert r.hubness.skewness == pytest.approx(population_skew(counts), abs=1e-6)
    assert r.hubness.top[0].k_occurrence == counts.max()
    assert r.hubness.antihub_share == pytest.approx(np.mean(counts == 0))
    r1 = np.sqrt(np.maximum(2 - 2 * nn[:, 0], 0))
    r2 = np.sqrt(np.maximum(2 - 2 * nn[:, 1], 0))
    ok = r1 > TWONN_MIN_R
    assert r.intrinsic_dimension.value == pytest.approx(ok.sum() / np.log(r2[ok] / r1[ok]).sum(), rel=1e-3)
    assert r.outliers[0].path == paths[int(np.argmax(1 - nn[:, -1]))] == stats_corpus.OUTLIER


def test_duplicate_groups_are_the_connected_components(labelled):
    root, _ = labelled
    paths, x, _ = raw_vectors(root, "minilm")
    threshold = 0.95
    r = vector_stats(open_explorer(root), "minilm", StatsOptions(duplicate_threshold=threshold))
    # Connected components of the "cosine ≥ threshold" graph, by repeated expansion.
    adj = (x @ x.T >= threshold) & ~np.eye(len(x), dtype=bool)
    seen, groups = set(), []
    for i in range(len(x)):
        if i in seen or not adj[i].any():
            continue
        comp, frontier = {i}, [i]
        while frontier:
            j = frontier.pop()
            for nb in np.flatnonzero(adj[j]).tolist():
                if nb not in comp:
                    comp.add(nb)
                    frontier.append(nb)
        seen |= comp
        groups.append(sorted(paths[c] for c in comp))
    got = sorted(g.paths for g in r.duplicates.groups)
    assert got == sorted(groups)
    assert sorted(stats_corpus.DUPLICATE) in got
    assert r.duplicates.files == sum(len(g) for g in groups)


def test_clusters_and_projection_match_numpy(labelled):
    root, _ = labelled
    paths, x, _ = raw_vectors(root, "minilm")
    r = vector_stats(open_explorer(root), "minilm", StatsOptions(clusters=4))
    clusters = r.clusters
    assert clusters.k == 4 and sum(c.size for c in clusters.clusters) == len(x)
    assert [c.size for c in clusters.clusters] == sorted((c.size for c in clusters.clusters), reverse=True)
    # Every file sits in the cluster of its nearest centre (rebuilt from the projection's labels), and
    # the four topic folders come out as (nearly) pure clusters.
    assigned = {p.path: p.cluster for p in r.projection.points}
    labels = np.array([assigned[p] for p in paths])
    centres = np.stack([x[labels == c].mean(0) for c in range(4)])
    inertia = sum(float(((x[labels == c] - centres[c]) ** 2).sum()) for c in range(4))
    assert clusters.inertia == pytest.approx(inertia, rel=1e-3)
    assert (np.argmin(((x[:, None, :] - centres[None]) ** 2).sum(-1), axis=1) == labels).all()
    topics = [p.split("/")[0] for p in paths]
    purity = sum(max(np.sum((labels == c) & (np.array(topics) == t)) for t in set(topics)) for c in range(4))
    assert purity / len(paths) >= 0.8
    # Each cluster is named; one that a topic folder holds most of is named by that folder's share.
    for c in range(4):
        cluster = next(k for k in clusters.clusters if k.id == c)
        held = [t for t, m in zip(topics, labels == c, strict=True) if m]
        top = max(set(held), key=held.count)
        share = round(100 * held.count(top) / len(held))
        if held.count(top) > len(held) / 2 and top != "misc":
            assert cluster.name.startswith(f"{top} ({share}%)"), (cluster.name, top, share)
        assert cluster.name and len(cluster.keywords) <= 5

    # PCA projection: the top two principal axes of the centred vectors (up to sign).
    proj = np.array([[p.x, p.y] for p in sorted(r.projection.points, key=lambda p: paths.index(p.path))])
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    want = (x - x.mean(0)) @ vt[:2].T
    for axis in range(2):
        assert (
            min(np.abs(proj[:, axis] - want[:, axis]).max(), np.abs(proj[:, axis] + want[:, axis]).max())
            < 1e-4
        )
    assert {p.folder for p in r.projection.points} == {
        "astronomy",
        "cooking",
        "football",
        "computing",
        "misc",
    }


def test_raw_norms_are_kept_before_normalisation(labelled):
    """The tiny model has no Normalize module: its stored norms are those of the raw model output."""
    root, tiny = labelled
    from sentence_transformers import SentenceTransformer

    paths, x, norms = raw_vectors(root, tiny)
    model = SentenceTransformer(tiny, device="cpu")
    direct = model.encode([(root / p).read_text() for p in paths], convert_to_numpy=True)
    np.testing.assert_allclose(norms, np.linalg.norm(direct, axis=1), rtol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    r = vector_stats(open_explorer(root), tiny)
    assert r.norms.min == pytest.approx(norms.min(), rel=1e-6)
    assert r.norms.max == pytest.approx(norms.max(), rel=1e-6)
    # The poor model squeezes everything into one direction: that is what anisotropy shows.
    assert r.anisotropy.mean_pairwise_cosine > 0.9


# ---- synthetic stores (no model): sampled paths and edge cases -----------------------------------------
def test_sampled_knn_figures_estimate_the_full_ones(tmp_path):
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 24))
    x = centres[rng.integers(0, 6, 3000)] + 0.7 * rng.normal(size=(3000, 24))
    root = synthetic_store(tmp_path / "s", x)
    explorer = open_explorer(root)
    part = vector_stats(explorer, "synthetic", StatsOptions(knn_sample=1000))  # no graph saved yet
    full = vector_stats(explorer, "synthetic", StatsOptions(knn_sample=None))  # builds and saves the graph
    assert "knn" not in full.sampled and full.hubness.antihub_share is not None
    # Once the store holds a current graph, the sample is not needed: every file's row is read from it.
    again = vector_stats(explorer, "synthetic", StatsOptions(knn_sample=1000))
    assert "knn" not in again.sampled and "hubness" not in again.sampled
    assert again.knn == full.knn and again.hubness == full.hubness and again.duplicates == full.duplicates
    for key in (
        "knn",
        "hubness",
        "duplicates",
        "outliers",
        "intrinsic_dimension",
        "pairwise_cosine",
        "projection",
    ):
        assert part.sampled[key].of == 3000
    assert part.sampled["knn"].n == 1000 and len(part.projection.points) == 2000
    assert part.hubness.skewness == pytest.approx(full.hubness.skewness, abs=0.25)
    assert part.intrinsic_dimension.value == pytest.approx(full.intrinsic_dimension.value, rel=0.1)
    assert part.knn.distance.mean == pytest.approx(full.knn.distance.mean, rel=0.05)
    # Linear-time figures never sample.
    assert part.anisotropy == full.anisotropy and part.per_dim == full.per_dim


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_stores_do_not_break(tmp_path, n):
    root = synthetic_store(tmp_path / "t", np.random.default_rng(n).normal(size=(n, 8)))
    r = vector_stats(open_explorer(root), None)
    assert (r.count, r.dim) == (n, 8)
    assert len(r.projection.points) == n
    if n == 1:
        assert r.knn.k == 0 and r.anisotropy.mean_pairwise_cosine is None


def test_canvas_picks_points():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    s = Scatter(xy, np.arange(4), 10, 5)
    text = s.render(selected=0).plain
    assert len(text.splitlines()) == 5 and all(len(line) == 10 for line in text.splitlines())
    assert sum(0x2800 < ord(ch) <= 0x28FF for ch in text) == 4  # four corners, one braille cell each
    sparse = Scatter(xy, np.arange(4), 40, 10).render().plain
    assert sparse.count("●") == 4 and not any(0x2800 < ord(ch) <= 0x28FF for ch in sparse)
    assert s.nearest(9, 0) == 3 and s.nearest(0, 4) == 0  # y grows upwards
    assert s.step(0, 1, 0) == 1 and s.step(0, 0, -1) == 2 and s.step(3, 1, 0) == 3


# ---- the command ----------------------------------------------------------------------------------------


def test_cli_stats_json_and_errors(labelled, cli):
    root, _ = labelled
    out = run_cli("stats", str(root), "--model", "minilm", "--json", "-k", "5")
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.strip().splitlines()) == 1
    r = json.loads(out.stdout)
    assert list(r) == TOP_KEYS and (r["count"], r["dim"], r["knn"]["k"]) == (26, 384, 5)

    plain = cli("stats", root, "--model", "minilm").stdout
    assert "near-duplicates" in plain and "projection (pca)" in plain
    failures = [
        (["stats", str(root), "--model", "nope"], "not indexed here"),
        (["stats", str(root / "missing")], "no such folder"),
    ]
    if not umap_available():
        failures.append((["stats", str(root), "--projection", "umap"], "umap-learn"))
    for args, message in failures:
        _, out_text, err = cli(*args, expect=2)
        assert message in err and "Traceback" not in err + out_text
        assert len((out_text + err).strip().splitlines()) == 1
