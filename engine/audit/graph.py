"""Every file's k nearest neighbors (self excluded): exact, block by block, where that is cheap; from the
hnswlib index above that size. The audit reads everything it finds from this one graph.

Memory stays bounded: exact search holds one block of similarities (block × n floats), never n × n."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..index import VectorIndex

EXACT_MAX = 50_000  # above this many vectors the index answers (benchmarks/README.md: the crossover)
BLOCK_BYTES = 1 << 28  # similarities held at once by exact search
Progress = Callable[[int, int], None]  # (rows done, rows in all)


@dataclass(frozen=True)
class KnnGraph:
    """Row i is the file ids[i]; rows[i] its neighbors as row positions, nearest first; sims their cosine."""

    ids: np.ndarray  # [n] int64 file ids
    rows: np.ndarray  # [n, k] int64
    sims: np.ndarray  # [n, k] float32
    exact: bool

    @property
    def k(self) -> int:
        return int(self.rows.shape[1])


def exact_knn(x: np.ndarray, k: int, progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """[n, k] rows and cosines of each vector's k nearest others, by blocks of x @ x.T (x normalised).
    Ties keep the lower row first, so the answer does not depend on the block size."""
    n = len(x)
    k = min(k, n - 1)
    rows = np.empty((n, k), np.int64)
    sims = np.empty((n, k), np.float32)
    block = max(1, min(n, BLOCK_BYTES // (4 * max(n, 1))))
    for start in range(0, n, block):
        stop = min(n, start + block)
        s = x[start:stop] @ x.T
        s[np.arange(stop - start), np.arange(start, stop)] = -np.inf  # never one's own neighbor
        top = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < n - 1 else np.argsort(-s, axis=1)[:, :k]
        part = np.take_along_axis(s, top, axis=1)
        order = np.lexsort((top, -part), axis=1)
        rows[start:stop] = np.take_along_axis(top, order, axis=1)
        sims[start:stop] = np.take_along_axis(part, order, axis=1)
        if progress is not None:
            progress(stop, n)
    return rows, sims


def index_knn(
    index: VectorIndex, ids: np.ndarray, x: np.ndarray, k: int, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The same from the hnswlib index (labels = file ids, sorted ids give row positions)."""
    from ..stats.neighbors import knn_of

    n = len(ids)
    rows = np.empty((n, min(k, n - 1)), np.int64)
    sims = np.empty(rows.shape, np.float32)
    step = 65_536
    for start in range(0, n, step):
        part = knn_of(index, ids, x, np.arange(start, min(n, start + step)), k)
        rows[start : start + len(part.queries)] = part.rows
        sims[start : start + len(part.queries)] = part.sims
        if progress is not None:
            progress(start + len(part.queries), n)
    return rows, sims


def knn_graph(
    ids: np.ndarray,
    x: np.ndarray,
    k: int,
    index: VectorIndex | None = None,
    progress: Progress | None = None,
    exact_max: int = EXACT_MAX,
) -> KnnGraph:
    """The graph of ids (sorted ascending) over their normalised vectors x: exact up to exact_max vectors
    or when there is no index, else from the index."""
    if len(ids) < 2:
        return KnnGraph(ids, np.zeros((len(ids), 0), np.int64), np.zeros((len(ids), 0), np.float32), True)
    if index is None or len(ids) <= exact_max:
        rows, sims = exact_knn(x, k, progress)
        return KnnGraph(ids, rows, sims, True)
    rows, sims = index_knn(index, ids, x, k, progress)
    return KnnGraph(ids, rows, sims, False)
