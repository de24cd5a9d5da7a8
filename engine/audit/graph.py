"""Every file's k nearest neighbors (self excluded): exact, block by block, where that is cheap; from the
hnswlib index above that size. The audit reads everything it finds from this one graph.

Memory stays bounded: exact search holds one block of similarities per worker (BLOCK_BYTES each), never
n × n; the index path asks hnswlib for a batch of queries at a time."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..index import EF_LADDER, EXACT_MAX, TIE, VectorIndex

BLOCK_BYTES = 1 << 26  # similarities one worker holds at once in exact search
CHUNK = 32  # columns per group when bounding a row's k-th best from below (see _top_k)
GRAPH_RECALL = 0.99  # recall@k the index must reach (lower confidence bound on a sample) for the graph
RECALL_SAMPLE = 1000  # queries in that sample
WIDE_TIE = 8  # more than this many times k candidate groups a row on average: a block of copies
QUERY_BATCH = 16_384  # queries per hnswlib call
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


def _top_k(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k largest entries (column, value), largest first, ties by lower column.

    An argpartition of every row costs many passes over the block. Instead the columns are dealt into
    groups (column j into group j mod G, so a group's maximum is one vectorised pass), and the k-th
    largest group maximum bounds the row's k-th largest entry from below: those k maxima are k distinct
    entries. Only groups whose maximum reaches the bound can hold entries that do (k groups a row unless
    values tie), so only their CHUNK columns are read again; a whole tie at the k-th place is among them,
    so the order is exact."""
    b, n = s.shape
    groups = n // CHUNK
    if groups >= k:
        maxima = s[:, : groups * CHUNK].reshape(b, CHUNK, groups).max(axis=1)
        bound = np.partition(maxima, groups - k, axis=1)[:, groups - k]
        rg, g = np.nonzero(maxima >= bound[:, None])
        if len(rg) <= WIDE_TIE * k * b:
            r = np.repeat(rg, CHUNK)
            c = (g[:, None] + groups * np.arange(CHUNK)).ravel()
            tr, tc = np.nonzero(s[:, groups * CHUNK :] >= bound[:, None])  # the columns no group holds
            r, c = np.concatenate([r, tr]), np.concatenate([c, tc + groups * CHUNK])
            hit = s[r, c] >= bound[r]
            r, c = r[hit], c[hit]
            v = s[r, c]
            order = np.lexsort((c, -v, r))
            r, c, v = r[order], c[order], v[order]
            keep = np.arange(len(r)) - np.searchsorted(r, np.arange(b))[r] < k
            return c[keep].reshape(b, k).astype(np.int64), v[keep].reshape(b, k).astype(np.float32)
    # Too few columns to group, or a tie spread over many groups (many exact copies): sort whole rows.
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return top.astype(np.int64), np.take_along_axis(s, top, axis=1).astype(np.float32)


def _block(x: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest others of x[queries] (row positions) against every row of x."""
    s = x[queries] @ x.T
    s[np.arange(len(queries)), queries] = -np.inf  # never one's own neighbor
    return _top_k(s, k)


def _workers() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def exact_knn(
    x: np.ndarray,
    k: int,
    progress: Progress | None = None,
    queries: np.ndarray | None = None,
    workers: int | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> tuple[np.ndarray, np.ndarray]:
    """[m, k] rows and cosines of the k nearest others of each query row (every row of x by default),
    by blocks of x[q] @ x.T (x normalised). Each worker runs single-threaded BLAS and its own selection on
    its own block, so the selection (plain numpy) runs on every core too. Ties keep the lower row first,
    so the answer does not depend on the block size or the number of workers."""
    from threadpoolctl import threadpool_limits

    n = len(x)
    q = np.arange(n) if queries is None else np.asarray(queries, np.int64)
    k = min(k, n - 1)
    rows = np.empty((len(q), k), np.int64)
    sims = np.empty((len(q), k), np.float32)
    block = max(1, min(len(q), block_bytes // (4 * max(n, 1))))
    starts = list(range(0, len(q), block))
    x = np.ascontiguousarray(x, np.float32)

    def one(start: int) -> int:
        part = q[start : start + block]
        rows[start : start + len(part)], sims[start : start + len(part)] = _block(x, part, k)
        return len(part)

    count = min(workers or _workers(), len(starts))
    done = 0
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(count) as pool:
        for finished in pool.map(one, starts):  # in order, on this thread: progress never runs in a worker
            done += finished
            if progress is not None:
                progress(done, len(q))
    return rows, sims


@contextmanager
def graph_ef(index: VectorIndex, ids: np.ndarray, x: np.ndarray, k: int) -> Iterator[int]:
    """Raise the index's ef, for the duration of the graph build only, to the smallest ef up the ladder
    whose recall@k against exact search on a sample reaches GRAPH_RECALL with two standard errors to
    spare (the sample's figure alone would miss the target over every file about half the time); what the
    index saves and what a single neighbor query uses stay as tuned. Yields the ef used."""
    saved, hnsw = getattr(index, "ef", 0), getattr(index, "hnsw", None)
    if hnsw is None or len(ids) <= k + 1:  # e.g. a Milvus collection: used as it is
        yield saved
        return
    pick = np.sort(np.random.default_rng(7).choice(len(ids), min(RECALL_SAMPLE, len(ids)), replace=False))
    truth, kth = exact_knn(x, k, queries=pick)
    chosen = EF_LADDER[-1]
    for ef in [saved, *(e for e in EF_LADDER if e > saved)]:
        found = graph_recall(index, ids, x, pick, truth, kth[:, -1], ef)
        if found - 2 * np.sqrt(found * (1 - found) / truth.size) >= GRAPH_RECALL:
            chosen = ef
            break
    index.ef = max(saved, chosen)
    try:
        yield index.ef
    finally:
        index.ef = saved
        hnsw.set_ef(saved)


def graph_recall(
    index: VectorIndex,
    ids: np.ndarray,
    x: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    kth: np.ndarray,
    ef: int,
) -> float:
    """Recall@k of the index's neighbors (self excluded) of x[queries] at this ef against the exact rows
    truth; a hit tied with the exact k-th cosine (within TIE) counts as found."""
    saved = index.ef
    index.ef = ef
    try:
        rows, sims = index_knn(index, ids, x, truth.shape[1], queries=queries)
    finally:
        index.ef = saved
    found = (rows[:, :, None] == truth[:, None, :]).any(axis=2) | (sims >= kth[:, None] - TIE)
    return float(found.mean())


def index_knn(
    index: VectorIndex,
    ids: np.ndarray,
    x: np.ndarray,
    k: int,
    progress: Progress | None = None,
    queries: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The same from the hnswlib index (labels = file ids, sorted ids give row positions), a batch of
    queries per call on every core. The query itself is dropped wherever it appears (an exact duplicate
    can outrank it), else the farthest hit is."""
    n = len(ids)
    q = np.arange(n) if queries is None else np.asarray(queries, np.int64)
    k = min(k, n - 1)
    rows = np.empty((len(q), k), np.int64)
    sims = np.empty((len(q), k), np.float32)
    for start in range(0, len(q), QUERY_BATCH):
        part = q[start : start + QUERY_BATCH]
        labels, scores = index.knn(x[part], k + 1)
        if labels.shape[1] < k + 1:
            raise RuntimeError(f"the index holds fewer live items than the {n:,} files it should cover")
        is_self = labels == ids[part][:, None]
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones(labels.shape, bool)
        keep[np.arange(len(part)), drop] = False
        found = labels[keep].reshape(len(part), k)
        at = np.minimum(np.searchsorted(ids, found), n - 1)
        if not (ids[at] == found).all():
            raise RuntimeError("the index holds files the store's vectors do not: it is out of step")
        rows[start : start + len(part)] = at
        sims[start : start + len(part)] = scores[keep].reshape(len(part), k)
        if progress is not None:
            progress(start + len(part), len(q))
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
    or when there is no index, else from the index at the ef that reaches GRAPH_RECALL."""
    if len(ids) < 2:
        return KnnGraph(ids, np.zeros((len(ids), 0), np.int64), np.zeros((len(ids), 0), np.float32), True)
    if index is None or len(ids) <= exact_max:
        rows, sims = exact_knn(x, k, progress)
        return KnnGraph(ids, rows, sims, True)
    with graph_ef(index, ids, x, min(k, len(ids) - 1)):
        rows, sims = index_knn(index, ids, x, k, progress)
    return KnnGraph(ids, rows, sims, False)
