"""The statistics report as types: what `vector_stats` returns, the TUI's stats screen draws (it crosses
the query process pickled) and `vexplore stats --json` prints through `to_json`. Field order is key
order, nesting is the JSON's nesting; the README's `stats --json` table documents the keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..plain import record

NORMS_SOURCE = "raw (before normalisation)"  # the JSON's norms carry it: they are not the unit vectors'


@dataclass(frozen=True)
class Histogram:
    edges: list[float]  # bins + 1, empty for no values
    counts: list[int]


@dataclass(frozen=True)
class Distribution:
    """A set of numbers in brief; every figure is None when the set is empty."""

    min: float | None
    mean: float | None
    median: float | None
    max: float | None
    std: float | None
    histogram: Histogram


@dataclass(frozen=True)
class PerDimension:
    mean: list[float]
    std: list[float]
    dead: list[int]  # dimensions with no spread
    dominant: list[int]  # dimensions far louder than the rest
    top_variance: list[int]
    top_abs_mean: list[int]


@dataclass(frozen=True)
class Anisotropy:
    mean_pairwise_cosine: float | None  # None below two vectors
    centroid_norm: float
    cosine_to_centroid: Distribution


@dataclass(frozen=True)
class Pca:
    explained_variance_ratio: list[float]
    cumulative: list[float]
    components_for_90: int


@dataclass(frozen=True)
class IndexQuality:
    """Recall of the hnswlib index against exact search, and the ef the queries then use."""

    k: int
    ef: int
    recall_at_ef: float
    target: float
    ef_for_target: int | None  # None: no ef on the ladder met the target
    used_ef: int
    curve: list[tuple[int, float]]  # (ef, recall)
    tuned_recall: float | None
    queries: int


@dataclass(frozen=True)
class KnnDistance:
    k: int
    distance: Distribution  # cosine distance to the k-th neighbor


@dataclass(frozen=True)
class Hub:
    path: str
    k_occurrence: float


@dataclass(frozen=True)
class Hubness:
    k: int
    skewness: float | None
    antihub_share: float | None  # exact runs only
    top: list[Hub]


@dataclass(frozen=True)
class DuplicateGroup:
    paths: list[str]
    min_cosine: float


@dataclass(frozen=True)
class Duplicates:
    threshold: float
    files: int
    group_count: int
    groups: list[DuplicateGroup]


@dataclass(frozen=True)
class Outlier:
    path: str
    knn_distance: float


@dataclass(frozen=True)
class IntrinsicDimension:
    method: str
    value: float | None


@dataclass(frozen=True)
class Central:
    """One of a cluster's most central files."""

    path: str
    cosine: float


@dataclass(frozen=True)
class Cluster:
    id: int
    size: int
    central: list[Central]
    name: str = ""  # from the members' text, tags or label mix (stats/names.py)
    keywords: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Clusters:
    k: int
    inertia: float
    clusters: list[Cluster]  # largest first


@dataclass(frozen=True)
class Point:
    path: str
    x: float
    y: float
    cluster: int
    folder: str


@dataclass(frozen=True)
class Projection:
    method: str
    umap_available: bool
    points: list[Point]


@dataclass(frozen=True)
class Sample:
    """A figure computed on n of the `of` vectors."""

    n: int
    of: int


@dataclass(frozen=True)
class StatsReport:
    model: str
    count: int
    dim: int
    dtype: str
    modalities: list[str]
    norms: Distribution  # of the raw norms, before normalisation
    per_dim: PerDimension
    anisotropy: Anisotropy
    pairwise_cosine: Distribution
    pca: Pca
    index: IndexQuality
    knn: KnnDistance
    hubness: Hubness
    duplicates: Duplicates
    outliers: list[Outlier]
    intrinsic_dimension: IntrinsicDimension
    clusters: Clusters
    projection: Projection
    sampled: dict[str, Sample]  # figure -> sample size; empty when every figure is exact
    timings: dict[str, float]  # seconds per section
    seconds: float

    def to_json(self) -> dict[str, Any]:
        out = record(self)
        out["norms"] = {"source": NORMS_SOURCE, **out["norms"]}
        return out
