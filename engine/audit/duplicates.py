"""Duplicates and outliers over every file (no sampling), from the neighbor graph and the content hashes.

Near copies are graph edges at cosine ≥ threshold; files with one content hash are joined too (a file
with more exact copies than k neighbors would otherwise split). Groups are the connected components,
found by vectorised min-label propagation with pointer jumping: numpy only, linear memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..stats.neighbors import components
from .graph import KnnGraph

DUPLICATE_FLOOR = 0.95  # cosine, as `vexplore stats` uses: never call files below it near copies
NEAR_SHARE = 0.13  # of the median nearest-neighbor distance (cleanlab's near-duplicate radius)
OUTLIERS = 20


@dataclass(frozen=True)
class Group:
    rows: list[int]  # ascending
    min_cosine: float  # the weakest link that joined the group
    exact: bool  # every member has the same content hash


def derived_threshold(graph: KnnGraph) -> float:
    """The cosine above which two files are near copies *for this data*: within NEAR_SHARE of the median
    distance from a file to its nearest neighbor (tight data gets a stricter cut), never below the floor."""
    if graph.k == 0:
        return DUPLICATE_FLOOR
    median = float(np.median(1.0 - graph.sims[:, 0].astype(np.float64)))
    return round(max(DUPLICATE_FLOOR, 1.0 - NEAR_SHARE * median), 4)


def hash_edges(hashes: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Edges that chain the files of each content hash (first → each other member)."""
    known = np.array([i for i, h in enumerate(hashes) if h is not None], np.int64)
    if len(known) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    _, inverse = np.unique(np.array([hashes[i] for i in known]), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    sorted_inv = inverse[order]
    first = np.r_[True, sorted_inv[1:] != sorted_inv[:-1]]
    head = known[order][np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    members = known[order]
    return head[~first], members[~first]


def duplicate_groups(
    graph: KnnGraph, x: np.ndarray, hashes: Sequence[str | None], threshold: float
) -> list[Group]:
    """Groups of two files or more, largest first, then by first row."""
    n = len(graph.ids)
    qi, ki = np.nonzero(graph.sims >= threshold)
    ha, hb = hash_edges(hashes)
    a = np.r_[qi, ha].astype(np.int64)
    b = np.r_[graph.rows[qi, ki], hb].astype(np.int64)
    if len(a) == 0:
        return []
    cos = np.r_[graph.sims[qi, ki], np.einsum("ij,ij->i", x[ha], x[hb])].astype(np.float64)
    comp = components(n, a, b)
    weakest = np.full(n, np.inf)
    np.minimum.at(weakest, comp[a], cos)
    sizes = np.bincount(comp, minlength=n)
    roots = np.flatnonzero(sizes >= 2)
    roots = roots[np.lexsort((roots, -sizes[roots]))]
    order = np.argsort(comp, kind="stable")
    starts = np.searchsorted(comp[order], roots)
    keyed = np.array([h or "" for h in hashes], dtype=object)
    groups = []
    for root, start in zip(roots.tolist(), starts.tolist(), strict=True):
        rows = order[start : start + sizes[root]]
        same = keyed[rows[0]] != "" and bool(np.all(keyed[rows] == keyed[rows[0]]))
        groups.append(Group(rows.tolist(), round(min(float(weakest[root]), 1.0), 6), same))
    return groups


def outlier_scores(graph: KnnGraph) -> np.ndarray:
    """Each file's mean cosine distance to its k nearest neighbors: high when nothing resembles it."""
    if graph.k == 0:
        return np.zeros(len(graph.ids))
    return 1.0 - graph.sims.astype(np.float64).mean(axis=1)


def outlier_fence(scores: np.ndarray) -> float:
    """Tukey's upper fence over the scores (Q3 + 1.5 IQR): a file above it is far more isolated than
    this data's files usually are, whatever the model's scale of distances."""
    q1, q3 = np.percentile(scores, [25, 75])
    return float(q3 + 1.5 * (q3 - q1))


def top_outliers(graph: KnnGraph, top: int = OUTLIERS) -> list[tuple[int, float]]:
    """(row, score) of the most isolated files, most isolated first (ties by row)."""
    scores = outlier_scores(graph)
    if len(scores) < 2:
        return []
    count = min(top, len(scores))
    pick = np.argpartition(-scores, count - 1)[:count] if count < len(scores) else np.arange(len(scores))
    pick = pick[np.lexsort((pick, -scores[pick]))]
    return [(int(i), round(float(scores[i]), 6)) for i in pick]
