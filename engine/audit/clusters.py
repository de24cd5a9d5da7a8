"""Every file in a cluster, each cluster with a stable id and a name (naming.py says how it is named).

k-means (stats/clusters.py) over all vectors: fitted on a bounded sample, then every file assigned, in
blocks, so memory stays bounded at a million files. Without a given number, k is the one with the best
silhouette on a sample (CHOOSE_SAMPLE files) among the candidates up to min(K_MAX, sqrt(n)): every k
up to EVERY_K, then spaced geometrically.

Stability: the rows are taken in path order, so neither the store's file ids nor its row order change the
answer; clusters are numbered by size, then by their first member's path."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..stats import clusters as km
from ..store import Store
from . import naming
from .data import AuditData
from .graph import KnnGraph
from .report import NamedCluster

K_MAX = 30
CHOOSE_SAMPLE = 1_000
CHOOSE_RESTARTS = 2
EVERY_K = 12
WIDE_CANDIDATES = 8  # values of k tried above EVERY_K
CENTRAL = 5
SEED = 0
BLOCK = 65_536


@dataclass(frozen=True)
class Partition:
    """Clusters in id order: each one's rows nearest the centroid first (ties by path), and in path order."""

    central: list[np.ndarray]  # rows of data.x, nearest the centroid first
    members: list[np.ndarray]  # the same rows in path order


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of unit vectors x (euclidean distance), vectorised: one [m, m] matrix."""
    m = len(x)
    k = int(labels.max()) + 1
    d = np.sqrt(np.maximum(2.0 - 2.0 * (x @ x.T).astype(np.float64), 0.0))
    onehot = np.zeros((m, k))
    onehot[np.arange(m), labels] = 1.0
    sizes = onehot.sum(axis=0)
    sums = d @ onehot
    own = sizes[labels]
    a = sums[np.arange(m), labels] / np.maximum(own - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(sizes > 0, sums / sizes, np.inf)
    mean[np.arange(m), labels] = np.inf
    b = mean.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def choose_k(x: np.ndarray, order: np.ndarray) -> int:
    """The candidate k with the best silhouette on a sample drawn in path order (the smaller on a tie)."""
    n = len(order)
    if n < 4:
        return 1
    rng = np.random.default_rng(SEED)
    rows = order if n <= CHOOSE_SAMPLE else order[np.sort(rng.choice(n, CHOOSE_SAMPLE, replace=False))]
    sample = x[rows]
    best_k, best = 2, -np.inf
    hi = max(2, min(K_MAX, int(np.sqrt(n)), len(sample) - 1))
    wide = np.geomspace(EVERY_K, hi, WIDE_CANDIDATES) if hi > EVERY_K else np.zeros(0)
    for k in sorted({*range(2, min(hi, EVERY_K) + 1), *(int(round(w)) for w in wide)}):
        _, labels, _, _ = km.kmeans(sample, k, seed=SEED, n_init=CHOOSE_RESTARTS)
        score = silhouette(sample, labels)
        if score > best + 1e-9:
            best_k, best = k, score
    return best_k


def path_order(paths: list[str]) -> np.ndarray:
    """The rows sorted by path: the order every choice here is made in."""
    return np.array(sorted(range(len(paths)), key=paths.__getitem__), np.int64)


def partition(x: np.ndarray, order: np.ndarray, k: int) -> Partition:
    """Every row in one of k clusters (fewer when some end empty), numbered by size then first path.
    order: the rows in path order (path_order)."""
    n = len(x)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    _, labels, _, _ = km.kmeans(x, k, seed=SEED, order=order)
    k = int(labels.max()) + 1
    sums = np.zeros((k, x.shape[1]), np.float64)
    for start in range(0, n, BLOCK):  # centroids over every member, not only the fitted sample
        part = labels[start : start + BLOCK]
        onehot = np.zeros((k, len(part)), np.float32)
        onehot[part, np.arange(len(part))] = 1.0
        sums += onehot @ x[start : start + BLOCK]
    centres = sums / np.maximum(np.linalg.norm(sums, axis=1), 1e-12)[:, None]
    sims = np.empty(n, np.float64)
    for start in range(0, n, BLOCK):
        part = labels[start : start + BLOCK]
        sims[start : start + len(part)] = np.einsum("ij,ij->i", x[start : start + BLOCK], centres[part])
    sizes = np.bincount(labels, minlength=k)
    first = np.full(k, n, np.int64)
    np.minimum.at(first, labels, rank)
    ids = [c for c in np.lexsort((first, -sizes)) if sizes[c] > 0]
    in_path_order = labels[order]
    central, members = [], []
    for c in ids:
        rows = order[in_path_order == c]
        members.append(rows)
        central.append(rows[np.lexsort((rank[rows], -np.round(sims[rows], 6)))])
    return Partition(central, members)


def named_clusters(
    store: Store, data: AuditData, graph: KnnGraph, n_clusters: int | None
) -> list[NamedCluster]:
    """The clusters of every file, named. n_clusters None: chosen by silhouette (choose_k). The graph
    is not needed here (k-means reads the vectors); it is taken so every finder has one signature."""
    n = len(data.paths)
    if n == 0:
        return []
    order = path_order(data.paths)
    k = n_clusters if n_clusters is not None else choose_k(data.x, order)
    return name_partition(store, data, partition(data.x, order, max(1, min(k, n))))


def name_partition(store: Store, data: AuditData, parts: Partition) -> list[NamedCluster]:
    """Each cluster of a partition with its name, keywords, label mix and central files (the stats
    screen names its k-means clusters with this too)."""
    mix = naming.label_mix(data.layout.labels, data.paths)
    members = [
        _members(data, mix, central, rows) for central, rows in zip(parts.central, parts.members, strict=True)
    ]
    words = naming.text_terms(store, members)
    tags = naming.tag_terms(store, data.model, members)
    out, names, candidates, mixes, nears = [], [], [], [], []
    for c, (m, central) in enumerate(zip(members, parts.central, strict=True)):
        terms = [t for t, _ in words.top(c, naming.CANDIDATES)] or [
            t for t, _ in tags.top(c, naming.CANDIDATES)
        ]
        mixes.append(naming.dominant(m.labels))
        candidates.append(terms)
        nears.append(f"near {data.paths[int(central[0])].rsplit('/', 1)[-1]}")
        names.append(naming.name_of(mixes[-1], terms, nears[-1]))
    names = naming.unique_names(names, candidates, mixes, list(range(len(members))), nears)
    for c, (m, rows) in enumerate(zip(members, parts.members, strict=True)):
        out.append(
            NamedCluster(
                id=c,
                size=len(rows),
                name=names[c],
                keywords=candidates[c][: naming.KEYWORDS],
                labels=dict(sorted(m.labels.items(), key=lambda kv: (-kv[1], kv[0]))),
                central=[data.paths[int(i)] for i in parts.central[c][:CENTRAL]],
                paths=[data.paths[int(i)] for i in rows],
            )
        )
    return out


def _members(data: AuditData, mix: list[str], central: np.ndarray, rows: np.ndarray) -> naming.Members:
    head = central[: naming.DOCS_PER_CLUSTER]
    return naming.Members(
        ids=[int(data.ids[i]) for i in head],
        paths=[data.paths[int(i)] for i in head],
        modalities=[data.modalities[int(i)] for i in head],
        labels=Counter(mix[int(i)] for i in rows),
    )
