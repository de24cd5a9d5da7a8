"""k-means on unit vectors (numpy only): k-means++ seeding, batched Lloyd iterations on a sample, then
one pass that assigns every vector. Euclidean k-means on unit vectors ranks like cosine."""

from __future__ import annotations

import numpy as np

from .schema import Central, Cluster

FIT_SAMPLE = 5_000
BLOCK = 8192
EXACT_UP_TO = 2_000  # sets this small run Lloyd to a fixed point, with 10 restarts
TOL = 1e-4


def default_k(n: int) -> int:
    """A handful of clusters: enough to colour a projection, few enough to read."""
    return int(min(8, max(2, round(np.sqrt(n / 2)))))


def _nearest(x: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of the nearest centre, squared distance to it) for every row, in blocks."""
    c_sq = np.einsum("ij,ij->i", centres, centres)
    labels = np.empty(len(x), np.int64)
    dist = np.empty(len(x), np.float64)
    for start in range(0, len(x), BLOCK):
        block = x[start : start + BLOCK]
        d = c_sq[None, :] - 2.0 * (block @ centres.T)
        labels[start : start + len(block)] = d.argmin(axis=1)
        x_sq = np.einsum("ij,ij->i", block, block)
        dist[start : start + len(block)] = np.maximum(d.min(axis=1) + x_sq, 0.0)
    return labels, dist


def _seed(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++: each next centre drawn with probability proportional to the squared distance."""
    centres = [x[rng.integers(len(x))]]
    best = np.full(len(x), np.inf)
    for _ in range(1, k):
        diff = x - centres[-1]
        best = np.minimum(best, np.einsum("ij,ij->i", diff, diff))
        total = best.sum()
        pick = rng.choice(len(x), p=best / total) if total > 0 else rng.integers(len(x))
        centres.append(x[pick])
    return np.array(centres, dtype=np.float32)


def _lloyd(x: np.ndarray, centres: np.ndarray, iters: int) -> tuple[np.ndarray, float]:
    """Lloyd iterations until no point changes cluster; on big sets, also once the inertia improves by
    less than TOL (the last few reassignments there cost much and change nothing visible)."""
    k = len(centres)
    tol = 0.0 if len(x) <= EXACT_UP_TO else TOL
    previous, prev_inertia = None, np.inf
    inertia = np.inf
    for _ in range(iters):
        labels, dist = _nearest(x, centres)
        inertia = float(dist.sum())
        if previous is not None and (
            np.array_equal(labels, previous) or prev_inertia - inertia <= tol * inertia
        ):
            break
        previous, prev_inertia = labels, inertia
        onehot = np.zeros((k, len(x)), np.float32)
        onehot[labels, np.arange(len(x))] = 1.0
        sizes = np.bincount(labels, minlength=k)
        centres = (onehot @ x) / np.maximum(sizes, 1)[:, None].astype(np.float32)
        empty = np.flatnonzero(sizes == 0)
        if len(empty):  # restart an empty cluster at the points worst served so far
            centres[empty] = x[np.argsort(-dist)[: len(empty)]]
    return centres, inertia


def kmeans(
    x: np.ndarray,
    k: int,
    seed: int = 0,
    iters: int = 50,
    n_init: int | None = None,
    fit_sample: int = FIT_SAMPLE,
    order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """(centres [k, d], label of every row, inertia over all rows, rows used to fit). Cluster 0 is the
    largest, so colours and ids stay in a readable order. `order` (a permutation of the rows, e.g. by
    path) makes the fit independent of the rows' order in the store: the sample is drawn over it."""
    rng = np.random.default_rng(seed)
    k = max(1, min(k, len(x)))
    rows = np.arange(len(x)) if order is None else order
    if len(x) > fit_sample:
        rows = rows[np.sort(rng.choice(len(x), fit_sample, replace=False))]
    fit = x if order is None and len(x) <= fit_sample else x[rows]
    best: tuple[np.ndarray, float] | None = None
    if n_init is None:  # restarts are cheap on small sets, where one bad seeding shows most
        n_init = 10 if len(fit) <= EXACT_UP_TO else 3
    for _ in range(n_init):
        centres, inertia = _lloyd(fit, _seed(fit, k, rng), iters)
        if best is None or inertia < best[1]:
            best = (centres, inertia)
    assert best is not None
    labels, dist = _nearest(x, best[0])
    by_size = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    rank = np.empty(k, np.int64)
    rank[by_size] = np.arange(k)
    return best[0][by_size], rank[labels], float(dist.sum()), len(fit)


def describe(
    x: np.ndarray, centres: np.ndarray, labels: np.ndarray, paths: list[str], central: int = 5
) -> list[Cluster]:
    """Size of each cluster and its most central files (highest cosine to the centre)."""
    out = []
    for c in range(len(centres)):
        members = np.flatnonzero(labels == c)
        if not len(members):
            continue
        centre = centres[c] / max(float(np.linalg.norm(centres[c])), 1e-12)
        sims = x[members] @ centre
        order = np.argsort(-sims, kind="stable")[:central]
        out.append(
            Cluster(c, len(members), [Central(paths[members[i]], round(float(sims[i]), 6)) for i in order])
        )
    return out
