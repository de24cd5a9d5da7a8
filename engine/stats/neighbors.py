"""Figures that need each vector's nearest neighbors, taken from the hnswlib index: k-NN distances,
outliers, near-duplicate groups, hubness, intrinsic dimension (TwoNN), and the index's own recall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..index import EF_LADDER, VectorIndex
from .schema import DuplicateGroup, Duplicates, Hub, Hubness, IndexQuality, Outlier

TWONN_MIN_R = 2e-3  # Euclidean distance of unit vectors at cosine 0.999998: float32 noise below that


@dataclass
class Knn:
    """The k nearest neighbors (self excluded) of some query vectors, as row positions in the report's
    vector matrix. `queries` are row positions too; `fraction` = queries / all vectors."""

    queries: np.ndarray  # [m]
    rows: np.ndarray  # [m, k] neighbor row positions, nearest first
    sims: np.ndarray  # [m, k] cosine similarities
    fraction: float


def knn_of(
    index: VectorIndex, ids: np.ndarray, x: np.ndarray, queries: np.ndarray, k: int, batch: int = 4096
) -> Knn:
    """Neighbors of x[queries] from the index; the query itself is dropped wherever it appears (an exact
    duplicate can outrank it), else the farthest hit is."""
    k = min(k, len(ids) - 1)
    rows = np.empty((len(queries), k), np.int64)
    sims = np.empty((len(queries), k), np.float32)
    for start in range(0, len(queries), batch):
        q = queries[start : start + batch]
        labels, scores = index.knn(x[q], k + 1)
        is_self = labels == ids[q][:, None]
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones(labels.shape, bool)
        keep[np.arange(len(q)), drop] = False
        rows[start : start + len(q)] = np.searchsorted(ids, labels[keep].reshape(len(q), k))
        sims[start : start + len(q)] = scores[keep].reshape(len(q), k)
    return Knn(queries, rows, sims, len(queries) / len(ids))


def knn_distances(knn: Knn) -> np.ndarray:
    """Cosine distance from each query to its k-th nearest neighbor."""
    return 1.0 - knn.sims[:, -1].astype(np.float64)


def outliers(knn: Knn, paths: list[str], top: int = 10) -> list[Outlier]:
    """The queries farthest from their k-th neighbor: files nothing else resembles."""
    dist = knn_distances(knn)
    order = np.argsort(-dist, kind="stable")[:top]
    return [Outlier(paths[knn.queries[i]], round(float(dist[i]), 6)) for i in order]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label (its smallest row) of each of n rows under the undirected edges a-b."""
    comp = np.arange(n)
    while True:
        low = np.minimum(comp[a], comp[b])
        before = comp.copy()
        np.minimum.at(comp, a, low)
        np.minimum.at(comp, b, low)
        while True:  # pointer jumping: every row points at its label's label
            jumped = comp[comp]
            if np.array_equal(jumped, comp):
                break
            comp = jumped
        if np.array_equal(comp, before):
            return comp


def duplicate_groups(knn: Knn, paths: list[str], threshold: float, top: int = 50) -> Duplicates:
    """Files joined by a neighbor link at cosine ≥ threshold, grouped transitively (so a chain of
    near-copies is one group). Largest groups first, then by their paths."""
    qi, ki = np.nonzero(knn.sims >= threshold)
    a, b = knn.queries[qi].astype(np.int64), knn.rows[qi, ki].astype(np.int64)
    comp = components(len(paths), a, b)
    low = np.full(len(paths), 1.0)
    np.minimum.at(low, comp[a], knn.sims[qi, ki].astype(np.float64))
    touched = np.unique(np.r_[a, b])
    members: dict[int, list[str]] = {}
    for row in touched.tolist():
        members.setdefault(int(comp[row]), []).append(paths[row])
    groups = sorted((sorted(ps), float(low[root])) for root, ps in members.items())
    groups.sort(key=lambda g: -len(g[0]))
    return Duplicates(
        threshold=threshold,
        files=sum(len(g) for g, _ in groups),
        group_count=len(groups),
        groups=[DuplicateGroup(g, round(c, 6)) for g, c in groups[:top]],
    )


def hubness(knn: Knn, n: int, paths: list[str], top: int = 10) -> Hubness:
    """Skewness of the k-occurrence N_k (how often each vector is among others' k nearest): large and
    positive means a few hubs crowd every neighbor list. With sampled queries each N_k is seen thinned
    by the sampling fraction p; its factorial moments E[(N)_r] = E[(Y)_r] / p^r undo that, so the figure
    stays an unbiased moment estimate (and is the plain population skewness when p = 1)."""
    counts = np.bincount(knn.rows.ravel(), minlength=n).astype(np.float64)
    p = knn.fraction
    f1 = counts.mean() / p
    f2 = (counts * (counts - 1)).mean() / p**2
    f3 = (counts * (counts - 1) * (counts - 2)).mean() / p**3
    m2, m3 = f2 + f1, f3 + 3 * f2 + f1
    var = m2 - f1**2
    third = m3 - 3 * f1 * m2 + 2 * f1**3
    skew = float(third / var**1.5) if var > 1e-12 else 0.0
    order = np.argsort(-counts, kind="stable")[:top]
    return Hubness(
        k=int(knn.rows.shape[1]),
        skewness=skew,
        antihub_share=float(np.mean(counts == 0)) if p == 1.0 else None,
        top=[Hub(paths[i], round(float(counts[i] / p), 2)) for i in order if counts[i] > 0],
    )


def twonn_dimension(knn: Knn) -> float | None:
    """TwoNN intrinsic dimension (Facco et al. 2017), maximum-likelihood form: d = N / Σ ln(r2/r1) with
    r1, r2 the Euclidean distances to the first two neighbors. Duplicates (r1 below what float32 cosines
    can resolve) are left out: their ratio is noise."""
    if knn.sims.shape[1] < 2:
        return None
    r = np.sqrt(np.clip(2.0 - 2.0 * knn.sims[:, :2].astype(np.float64), 0.0, None))
    ok = r[:, 0] > TWONN_MIN_R
    mu = r[ok, 1] / r[ok, 0]
    total = float(np.log(mu).sum())
    return float(ok.sum() / total) if total > 0 else None


def index_quality(
    index: VectorIndex, ids: np.ndarray, x: np.ndarray, k: int = 10, target: float = 0.98, sample: int = 200
) -> IndexQuality:
    """Recall@k of the index at its ef against exact search on a sample; when it misses the target, the
    smallest ef up the ladder that meets it, which the index then uses for every later query."""
    if len(ids) <= 1:  # nothing to search for: the index is trivially exact
        return IndexQuality(0, index.ef, 1.0, target, index.ef, index.ef, [], index.recall, 0)
    queries, truth, kth, kk = index.probe(sample, k, seed=1, data=(ids, x))
    start_ef = index.ef
    at_ef = index.recall_at(start_ef, queries, truth, kth, kk)
    curve = [(start_ef, round(at_ef, 4))]
    found = start_ef if at_ef >= target else None
    for ef in (e for e in EF_LADDER if e > start_ef and found is None):
        recall = index.recall_at(ef, queries, truth, kth, kk)
        curve.append((ef, round(recall, 4)))
        if recall >= target:
            found = ef
    if found is not None:
        index.ef = found
    return IndexQuality(
        k=kk,
        ef=start_ef,
        recall_at_ef=round(at_ef, 4),
        target=target,
        ef_for_target=found,
        used_ef=index.ef,
        curve=curve,
        tuned_recall=index.recall,
        queries=len(queries),
    )
