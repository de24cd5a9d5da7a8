"""The shape of a vector space from the vectors alone: norms, per-dimension spread, anisotropy,
pairwise cosines and principal components. Linear-time figures are exact; quadratic ones use a sample
(the caller records which)."""

from __future__ import annotations

import numpy as np

from .schema import Anisotropy, Distribution, Histogram, Pca, PerDimension

BINS = 24
DEAD_STD = 1e-6  # a dimension whose spread is below this (absolute, on unit vectors) carries nothing
DOMINANT_FACTOR = 10.0  # a dimension with 10× the mean variance, or 10× the mean |mean|, dominates
PCA_TOP = 20


def histogram(
    values: np.ndarray, bins: int = BINS, lo: float | None = None, hi: float | None = None
) -> Histogram:
    """bins + 1 edges and bins counts: the shape every histogram in the report has."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return Histogram([], [])
    lo = float(values.min()) if lo is None else lo
    hi = float(values.max()) if hi is None else hi
    if hi <= lo:
        hi = lo + 1e-6
    counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
    return Histogram([round(float(e), 6) for e in edges], counts.tolist())


def summary(values: np.ndarray, bins: int = BINS) -> Distribution:
    """min / mean / median / max / std and a histogram of a set of numbers."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return Distribution(None, None, None, None, None, histogram(values))
    return Distribution(
        min=float(values.min()),
        mean=float(values.mean()),
        median=float(np.median(values)),
        max=float(values.max()),
        std=float(values.std()),
        histogram=histogram(values, bins),
    )


def mean_std(x: np.ndarray, block: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Per-dimension mean and std in float64, a block at a time (no n×d float64 copy), shifted by the
    first row so that a dimension with a large mean and a tiny spread keeps its precision."""
    shift = x[0].astype(np.float64)
    total = np.zeros(x.shape[1])
    squares = np.zeros(x.shape[1])
    for start in range(0, len(x), block):
        chunk = x[start : start + block].astype(np.float64) - shift
        total += chunk.sum(axis=0)
        squares += np.einsum("ij,ij->j", chunk, chunk)
    mean = total / len(x)
    return mean + shift, np.sqrt(np.maximum(squares / len(x) - mean**2, 0.0))


def per_dimension(mean: np.ndarray, std: np.ndarray) -> PerDimension:
    """Mean and std of every dimension, and the dimensions that are dead (no spread) or dominant
    (they carry a disproportionate share of the variance or sit far from zero on every vector)."""
    var = std**2
    dead = np.flatnonzero(std < DEAD_STD)
    loud = (var > DOMINANT_FACTOR * var.mean()) | (np.abs(mean) > DOMINANT_FACTOR * np.abs(mean).mean())
    return PerDimension(
        mean=[round(float(v), 6) for v in mean],
        std=[round(float(v), 6) for v in std],
        dead=dead.tolist(),
        dominant=np.flatnonzero(loud).tolist(),
        top_variance=np.argsort(-var, kind="stable")[:5].tolist(),
        top_abs_mean=np.argsort(-np.abs(mean), kind="stable")[:5].tolist(),
    )


def anisotropy(x: np.ndarray, mean: np.ndarray) -> Anisotropy:
    """How much the vectors share one direction (mean: the per-dimension mean of x). The mean cosine over
    all pairs i≠j is exact in linear time for unit vectors: (‖Σx‖² − Σ‖x‖²) / (n(n−1))."""
    n = len(x)
    total = mean * n
    sq = float(np.einsum("ij,ij->i", x, x).sum(dtype=np.float64))
    mean_pair = (float(total @ total) - sq) / (n * (n - 1)) if n > 1 else None
    centroid = total / max(n, 1)
    c_norm = float(np.linalg.norm(centroid))
    to_centroid = (x @ (centroid / c_norm).astype(np.float32)) if c_norm > 0 else np.zeros(n, np.float32)
    return Anisotropy(mean_pair, c_norm, summary(to_centroid))


def pairwise_cosines(x: np.ndarray) -> np.ndarray:
    """Every pairwise cosine (i<j) of a set of unit vectors: call it on a sample."""
    sims = x @ x.T
    return sims[np.triu_indices(len(x), k=1)]


def principal_axes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, eigenvalues descending, eigenvectors as columns) of the covariance of x."""
    mean = x.mean(axis=0, dtype=np.float64)
    centred = (x - mean.astype(np.float32)).astype(np.float32)
    cov = (centred.T @ centred).astype(np.float64) / max(len(x) - 1, 1)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(-values)
    return mean, np.clip(values[order], 0.0, None), vectors[:, order]


def explained_variance(eigenvalues: np.ndarray, top: int = PCA_TOP) -> Pca:
    total = float(eigenvalues.sum())
    ratio = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
    cumulative = np.cumsum(ratio)
    return Pca(
        explained_variance_ratio=[round(float(r), 6) for r in ratio[:top]],
        cumulative=[round(float(c), 6) for c in cumulative[:top]],
        components_for_90=int(np.searchsorted(cumulative, 0.9 - 1e-9) + 1) if total > 0 else 0,
    )
