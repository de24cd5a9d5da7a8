"""`vector_stats`: every statistic of one model's vector space in one JSON-able dict (what `vexplore
stats --json` prints and the TUI stats screen draws). The keys are documented in the README.

Linear-time figures use every vector. Work that would be quadratic, or too slow on a big store, runs
on a seeded random sample, and `sampled` names each such figure with the sample size."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..index import RECALL_TARGET, normalise
from ..query import Explorer
from . import clusters as km
from . import neighbors as nb
from . import projection as proj
from . import space

PAIR_SAMPLE = 2_000  # vectors → ~2M pairwise cosines
PCA_SAMPLE = 10_000
KNN_SAMPLE = 5_000  # index queries; every vector when the store is no bigger
POINTS = 2_000  # points drawn in the projection
RECALL_QUERIES = 200


@dataclass
class StatsOptions:
    k: int = 10
    duplicate_threshold: float = 0.95
    clusters: int | None = None  # None: a handful, from the store's size
    projection: str = "pca"
    knn_sample: int | None = KNN_SAMPLE  # None: query every vector (exact k-NN figures, slower)
    points: int = POINTS
    recall_target: float = RECALL_TARGET
    seed: int = 0


class _Clock:
    """Seconds per section, so the benchmark (and a curious user) can see where the time goes."""

    def __init__(self, progress: Callable[[str], None] | None):
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._name: str | None = None
        self._start = time.perf_counter()

    def step(self, name: str | None) -> None:
        now = time.perf_counter()
        if self._name is not None:
            self.timings[self._name] = round(now - self._start, 4)
        self._name, self._start = name, now
        if name is not None and self.progress is not None:
            self.progress(name)


def _sample(rng: np.random.Generator, n: int, m: int | None) -> np.ndarray:
    """Sorted row positions: all of them when m is None or n ≤ m, else m drawn without replacement."""
    if m is None or n <= m:
        return np.arange(n)
    return np.sort(rng.choice(n, size=m, replace=False))


def vector_stats(
    explorer: Explorer,
    model_name: str | None = None,
    opts: StatsOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The statistics of one model's vectors (the first indexed model when none is named).

    BLAS runs single-threaded here: the matrices are small (d × d, k × d), and threaded BLAS on them
    thrashes when the machine is busy (a 384 × 384 eigh measured 3.7 s against 0.03 s on a loaded
    2-core machine; the whole 100k report 10.5 s against 4.6 s)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _vector_stats(explorer, model_name, opts or StatsOptions(), progress)


def _vector_stats(
    explorer: Explorer, model_name: str | None, opts: StatsOptions, progress: Callable[[str], None] | None
) -> dict:
    if opts.projection not in proj.METHODS:
        raise UserError(f"unknown projection {opts.projection!r}; choose one of {', '.join(proj.METHODS)}")
    if opts.projection == "umap" and not proj.umap_available():
        raise UserError("UMAP needs umap-learn: `pip install umap-learn` (PCA works without it)")
    if not 0.0 < opts.duplicate_threshold <= 1.0:
        raise UserError("the duplicate threshold is a cosine in (0, 1]")
    started = time.perf_counter()
    clock = _Clock(progress)
    clock.step("load")
    model = explorer.model(indexed_name(explorer, model_name)) if model_name else _first_model(explorer)
    store = explorer.store
    ids, rows = store.embedded(model)
    n = len(ids)
    if n == 0:
        raise UserError(f"model {model.name!r} has no vectors yet: run `vexplore index` first")
    x = np.ascontiguousarray(store.vectors(model)[rows])
    if not np.allclose(np.einsum("ij,ij->i", x, x), 1.0, atol=1e-3):  # stored unit-length; others are fixed
        x = normalise(x)
    path_of = store.paths_by_id(ids)
    paths = [path_of[int(i)] for i in ids]
    norms = store.raw_norms(model, ids)
    rng = np.random.default_rng(opts.seed)
    sampled: dict[str, dict] = {}

    def note(figure: str, used: int) -> None:
        if used < n:
            sampled[figure] = {"n": int(used), "of": n}

    report: dict = {
        "model": model.name,
        "count": n,
        "dim": model.dim,
        "dtype": "float32",
        "modalities": list(model.modalities),
    }

    clock.step("space")
    report["norms"] = {"source": "raw (before normalisation)", **space.summary(norms[np.isfinite(norms)])}
    mean, std = space.mean_std(x)
    report["per_dim"] = space.per_dimension(mean, std)
    report["anisotropy"] = space.anisotropy(x, mean)
    pair_rows = _sample(rng, n, PAIR_SAMPLE)
    note("pairwise_cosine", len(pair_rows))
    report["pairwise_cosine"] = space.summary(space.pairwise_cosines(x[pair_rows]))

    clock.step("pca")
    pca_rows = _sample(rng, n, PCA_SAMPLE)
    note("pca", len(pca_rows))
    pca_mean, eigenvalues, axes = space.principal_axes(x[pca_rows])
    report["pca"] = space.explained_variance(eigenvalues)

    clock.step("index")
    index = explorer.index(model)
    report["index"] = nb.index_quality(index, ids, x, opts.k, opts.recall_target, RECALL_QUERIES)

    clock.step("knn")
    k = min(opts.k, n - 1)
    if k >= 1:
        queries = _sample(rng, n, opts.knn_sample)
        for figure in ("knn", "hubness", "duplicates", "outliers", "intrinsic_dimension"):
            note(figure, len(queries))
        knn = nb.knn_of(index, ids, x, queries, k)
        report["knn"] = {"k": k, "distance": space.summary(nb.knn_distances(knn))}
        report["hubness"] = nb.hubness(knn, n, paths)
        report["duplicates"] = nb.duplicate_groups(knn, paths, opts.duplicate_threshold)
        report["outliers"] = nb.outliers(knn, paths)
        report["intrinsic_dimension"] = {"method": "twonn", "value": nb.twonn_dimension(knn)}
    else:
        report["knn"] = {"k": 0, "distance": space.summary(np.zeros(0))}
        report["hubness"] = {"k": 0, "skewness": None, "antihub_share": None, "top": []}
        report["duplicates"] = {
            "threshold": opts.duplicate_threshold,
            "files": 0,
            "group_count": 0,
            "groups": [],
        }
        report["outliers"] = []
        report["intrinsic_dimension"] = {"method": "twonn", "value": None}

    clock.step("clusters")
    n_clusters = opts.clusters or km.default_k(n)
    centres, labels, inertia, fitted = km.kmeans(x, n_clusters, seed=opts.seed)
    note("clusters_fit", fitted)
    report["clusters"] = {
        "k": len(centres),
        "inertia": inertia,
        "clusters": km.describe(x, centres, labels, paths),
    }

    clock.step("projection")
    point_rows = _sample(rng, n, opts.points)
    note("projection", len(point_rows))
    coords = proj.coordinates(x[point_rows], pca_mean, axes, opts.projection, opts.seed)
    report["projection"] = {
        "method": opts.projection,
        "umap_available": proj.umap_available(),
        "points": proj.points(coords, point_rows, paths, labels),
    }
    clock.step(None)
    report["sampled"] = sampled
    report["timings"] = clock.timings
    report["seconds"] = round(time.perf_counter() - started, 4)
    return report


def indexed_name(explorer: Explorer, name: str) -> str:
    """The store's name for a model the user names: as given, or, for a local model folder given by a
    relative path, the absolute path the store knows it by."""
    from pathlib import Path

    if any(m.name == name for m in explorer.models()) or not Path(name).expanduser().exists():
        return name
    return str(Path(name).expanduser().resolve())


def _first_model(explorer: Explorer):
    models = explorer.models()
    if not models:
        raise UserError("the store holds no vectors yet: run `vexplore index` first")
    return models[0]
