"""`vector_stats`: every statistic of one model's vector space in one StatsReport (schema.py; what
`vexplore stats --json` prints and the TUI stats screen draws). The keys are documented in the README.

Linear-time figures use every vector. Work that would be quadratic, or too slow on a big store, runs
on a seeded random sample, and `sampled` names each such figure with the sample size."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..errors import UserError
from ..index import RECALL_TARGET, VectorIndex, normalise
from ..query import Explorer
from ..store import ModelRow
from . import clusters as km
from . import neighbors as nb
from . import projection as proj
from . import space
from .names import name_clusters
from .schema import (
    Anisotropy,
    Clusters,
    Distribution,
    Duplicates,
    Hubness,
    IntrinsicDimension,
    KnnDistance,
    Outlier,
    PerDimension,
    Projection,
    Sample,
    StatsReport,
)

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
) -> StatsReport:
    """The statistics of one model's vectors (the first indexed model when none is named).

    BLAS runs single-threaded here: the matrices are small (d × d, k × d), and threaded BLAS on them
    thrashes when the machine is busy (a 384 × 384 eigh measured 3.7 s against 0.03 s on a loaded
    2-core machine; the whole 100k report 10.5 s against 4.6 s)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _vector_stats(explorer, model_name, opts or StatsOptions(), progress)


def _vector_stats(
    explorer: Explorer, model_name: str | None, opts: StatsOptions, progress: Callable[[str], None] | None
) -> StatsReport:
    """The report, section by section; each section's seconds go to `timings`."""
    _check(opts)
    started = time.perf_counter()
    clock = _Clock(progress)
    clock.step("load")
    v = _load(explorer, model_name)
    rng = np.random.default_rng(opts.seed)
    sampled = _Sampled(v.n)
    clock.step("space")
    space_figures = _space(v, rng, sampled)
    clock.step("pca")
    pca_rows = _sample(rng, v.n, PCA_SAMPLE)
    sampled.note("pca", len(pca_rows))
    pca_mean, eigenvalues, axes = space.principal_axes(v.x[pca_rows])
    clock.step("index")
    index = explorer.index(v.model)
    quality = nb.index_quality(index, v.ids, v.x, opts.k, opts.recall_target, RECALL_QUERIES)
    clock.step("knn")
    knn_figures = _neighbor_figures(explorer, v, index, rng, opts, sampled)
    clock.step("clusters")
    centres, labels, inertia, fitted = km.kmeans(v.x, opts.clusters or km.default_k(v.n), seed=opts.seed)
    sampled.note("clusters_fit", fitted)
    described = km.describe(v.x, centres, labels, v.paths)
    clock.step("cluster names")
    described = name_clusters(explorer.store, v.model, v.ids, v.x, v.paths, labels, centres, described)
    clusters = Clusters(len(centres), inertia, described)
    clock.step("projection")
    point_rows = _sample(rng, v.n, opts.points)
    sampled.note("projection", len(point_rows))
    coords = proj.coordinates(v.x[point_rows], pca_mean, axes, opts.projection, opts.seed)
    projection = Projection(
        opts.projection, proj.umap_available(), proj.points(coords, point_rows, v.paths, labels)
    )
    clock.step(None)
    return StatsReport(
        model=v.model.name,
        count=v.n,
        dim=v.model.dim,
        dtype="float32",
        modalities=list(v.model.modalities),
        norms=space_figures.norms,
        per_dim=space_figures.per_dim,
        anisotropy=space_figures.anisotropy,
        pairwise_cosine=space_figures.pairwise_cosine,
        pca=space.explained_variance(eigenvalues),
        index=quality,
        knn=knn_figures.knn,
        hubness=knn_figures.hubness,
        duplicates=knn_figures.duplicates,
        outliers=knn_figures.outliers,
        intrinsic_dimension=knn_figures.intrinsic_dimension,
        clusters=clusters,
        projection=projection,
        sampled=sampled.figures,
        timings=clock.timings,
        seconds=round(time.perf_counter() - started, 4),
    )


def _check(opts: StatsOptions) -> None:
    """Options a user can get wrong, refused before any work."""
    if opts.projection not in proj.METHODS:
        raise UserError(f"unknown projection {opts.projection!r}; choose one of {', '.join(proj.METHODS)}")
    if opts.projection == "umap" and not proj.umap_available():
        raise UserError("UMAP needs umap-learn: `pip install umap-learn` (PCA works without it)")
    if not 0.0 < opts.duplicate_threshold <= 1.0:
        raise UserError("the duplicate threshold is a cosine in (0, 1]")


@dataclass
class _Vectors:
    """One model's stored vectors (unit length), with their file ids, paths and raw norms."""

    model: ModelRow
    ids: np.ndarray
    x: np.ndarray
    paths: list[str]
    norms: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ids)


class _Sampled:
    """Which figures used a sample, and how big (the report's `sampled`)."""

    def __init__(self, n: int):
        self.n = n
        self.figures: dict[str, Sample] = {}

    def note(self, figure: str, used: int) -> None:
        if used < self.n:
            self.figures[figure] = Sample(int(used), self.n)


def model_vectors(explorer: Explorer, model_name: str | None) -> tuple[ModelRow, np.ndarray, np.ndarray]:
    """(model, file ids ascending, their unit vectors in RAM) of the model named (the first indexed one
    when none is): what the statistics and the audit read."""
    model = explorer.model(indexed_name(explorer, model_name)) if model_name else _first_model(explorer)
    ids, rows = explorer.store.embedded(model)
    if len(ids) == 0:
        raise UserError(f"model {model.name!r} has no vectors yet: run `vexplore index` first")
    x = np.ascontiguousarray(explorer.store.vectors(model)[rows])
    if not np.allclose(np.einsum("ij,ij->i", x, x), 1.0, atol=1e-3):  # stored unit-length; others are fixed
        x = normalise(x)
    return model, ids, x


def _load(explorer: Explorer, model_name: str | None) -> _Vectors:
    model, ids, x = model_vectors(explorer, model_name)
    path_of = explorer.store.paths_by_id(ids)
    return _Vectors(model, ids, x, [path_of[int(i)] for i in ids], explorer.store.raw_norms(model, ids))


class _SpaceFigures(NamedTuple):
    norms: Distribution
    per_dim: PerDimension
    anisotropy: Anisotropy
    pairwise_cosine: Distribution


def _space(v: _Vectors, rng: np.random.Generator, sampled: _Sampled) -> _SpaceFigures:
    """The figures from the vectors alone: norms, per-dimension spread, anisotropy, pairwise cosines."""
    mean, std = space.mean_std(v.x)
    pair_rows = _sample(rng, v.n, PAIR_SAMPLE)
    sampled.note("pairwise_cosine", len(pair_rows))
    return _SpaceFigures(
        norms=space.summary(v.norms[np.isfinite(v.norms)]),
        per_dim=space.per_dimension(mean, std),
        anisotropy=space.anisotropy(v.x, mean),
        pairwise_cosine=space.summary(space.pairwise_cosines(v.x[pair_rows])),
    )


class _NeighborFigures(NamedTuple):
    knn: KnnDistance
    hubness: Hubness
    duplicates: Duplicates
    outliers: list[Outlier]
    intrinsic_dimension: IntrinsicDimension


def _neighbor_figures(
    explorer: Explorer,
    v: _Vectors,
    index: VectorIndex,
    rng: np.random.Generator,
    opts: StatsOptions,
    sampled: _Sampled,
) -> _NeighborFigures:
    """The figures that need each vector's neighbors (none below two vectors): from every file's row of
    the neighbor graph where the store has one (current, or a few files from it), or where building it
    is no dearer than the queries a sample would cost (every file is queried anyway); else from the
    index on a sample of files, as `sampled` says."""
    k = min(opts.k, v.n - 1)
    if k < 1:
        return _NeighborFigures(
            knn=KnnDistance(0, space.summary(np.zeros(0))),
            hubness=Hubness(0, None, None, []),
            duplicates=Duplicates(opts.duplicate_threshold, 0, 0, []),
            outliers=[],
            intrinsic_dimension=IntrinsicDimension("twonn", None),
        )
    queries = _sample(rng, v.n, opts.knn_sample)
    build = len(queries) == v.n  # every file would be queried: the graph costs no more, and is kept
    got = explorer.neighbor_graph(v.model, v.ids, v.x, k, build=build)
    if got is not None:
        knn = nb.Knn(np.arange(v.n), got.graph.rows, got.graph.sims, 1.0)
    else:
        for figure in ("knn", "hubness", "duplicates", "outliers", "intrinsic_dimension"):
            sampled.note(figure, len(queries))
        knn = nb.knn_of(index, v.ids, v.x, queries, k)
    return _NeighborFigures(
        knn=KnnDistance(k, space.summary(nb.knn_distances(knn))),
        hubness=nb.hubness(knn, v.n, v.paths),
        duplicates=nb.duplicate_groups(knn, v.paths, opts.duplicate_threshold),
        outliers=nb.outliers(knn, v.paths),
        intrinsic_dimension=IntrinsicDimension("twonn", nb.twonn_dimension(knn)),
    )


def indexed_name(explorer: Explorer, name: str) -> str:
    """The store's name for a model the user names: as given, or, for a local model folder given by a
    relative path, the absolute path the store knows it by."""
    from pathlib import Path

    if any(m.name == name for m in explorer.models()) or not Path(name).expanduser().exists():
        return name
    return str(Path(name).expanduser().resolve())


def _first_model(explorer: Explorer) -> ModelRow:
    models = explorer.models()
    if not models:
        raise UserError("the store holds no vectors yet: run `vexplore index` first")
    return models[0]
