"""One model's neighbor graph, kept in the store per catalog generation (graphfile.py): loaded when it
is current, brought up to date when a few files changed (incremental.py), built in full otherwise, and
saved for the next reader unless the store is read-only (then it lives in memory only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..index import EXACT_MAX, VectorIndex
from ..store import ModelRow, Store
from . import graphfile
from .graph import KnnGraph, Progress, exact_knn, graph_ef, index_knn, knn_graph
from .graphfile import StoredGraph
from .incremental import update

GRAPH_K = 10  # the width a graph is built with when a caller asks for fewer
OpenIndex = Callable[[], VectorIndex]


@dataclass(frozen=True)
class Graph:
    """A graph and how it was had: "saved" (read as it was), "updated" (incrementally) or "built"."""

    graph: KnnGraph
    how: str
    ef: int | None
    notice: str | None = None  # a saved graph found damaged (then rebuilt), or one that could not be saved


def stored(graph: KnnGraph, generation: int, prints: np.ndarray, ef: int | None) -> StoredGraph:
    return StoredGraph(
        generation, graph.k, graph.exact, ef, graph.ids, graph.ids[graph.rows], graph.sims, prints
    )


def as_graph(saved: StoredGraph, k: int) -> KnnGraph:
    """The saved graph at width k (its first k columns are the exact top k where it is exact)."""
    return KnnGraph(
        saved.ids, np.searchsorted(saved.ids, saved.neighbors[:, :k]), saved.sims[:, :k], saved.exact
    )


def current(saved: StoredGraph | None, model: ModelRow, ids: np.ndarray, k: int) -> bool:
    """Whether a saved graph describes this generation's files at width k or more."""
    return (
        saved is not None
        and saved.generation == model.generation
        and saved.k >= min(k, len(ids) - 1)
        and np.array_equal(saved.ids, ids)
    )


def model_graph(
    store: Store,
    model: ModelRow,
    ids: np.ndarray,
    x: np.ndarray,
    k: int,
    open_index: OpenIndex | None = None,
    progress: Progress | None = None,
    exact_max: int = EXACT_MAX,
    build: bool = True,
) -> Graph | None:
    """The graph of ids (ascending; model's generation as read before them) over their unit vectors x, at
    width k. Exact up to exact_max files (or with no index to open), else from the index. build=False:
    None where only a full build would give it (a caller that samples instead)."""
    n = len(ids)
    if n < 2:
        return Graph(knn_graph(ids, x, k), "built", None) if build else None
    folder = store.model_dir(model)
    saved, problem = graphfile.read(folder)  # a damaged file is rebuilt like a missing one, with a notice
    notice = None if problem is None else f"the neighbor graph of {model.name!r} {problem}; rebuilt"
    kk = min(k, n - 1)
    if current(saved, model, ids, k):
        assert saved is not None
        return Graph(as_graph(saved, kk), "saved", saved.ef)
    if saved is None and not build:
        return None
    exact_now = open_index is None or n <= exact_max
    prints = graphfile.fingerprints(x)
    got: Graph | None = None
    if saved is not None and saved.k >= min(max(k, GRAPH_K), n - 1) and (saved.exact or not exact_now):
        got = _updated(saved, ids, x, prints, open_index, progress)
    if got is None and not build:
        return None
    if got is None:
        got = _built(ids, x, max(k, GRAPH_K), None if exact_now else open_index, progress)
    if not store.readonly:
        try:
            graphfile.save(folder, stored(got.graph, model.generation, prints, got.ef))
        except OSError as exc:  # a full disk: the answer stands, the next reader computes it again
            notice = f"the neighbor graph of {model.name!r} could not be saved ({exc.strerror or exc})"
    graph = KnnGraph(ids, got.graph.rows[:, :kk], got.graph.sims[:, :kk], got.graph.exact)
    return Graph(graph, got.how, got.ef, notice)


def _updated(
    saved: StoredGraph,
    ids: np.ndarray,
    x: np.ndarray,
    prints: np.ndarray,
    open_index: OpenIndex | None,
    progress: Progress | None,
) -> Graph | None:
    """The saved graph brought up to date in its own regime: exact rows stay exact; an index graph
    searches its changed rows through the index at the ef the graph was built with (measured then to
    meet the graph's recall; a few changed files leave that as it was, and measuring it again would cost
    more than the update), or the index's own when that is higher."""
    k = min(saved.k, len(ids) - 1)
    if saved.exact or open_index is None:
        got = update(saved, ids, x, prints, lambda q: exact_knn(x, k, progress, queries=q), saved.exact)
        return None if got is None else Graph(got, "updated", None)
    index = open_index()
    kept: int | None = getattr(index, "ef", None)  # None: another backend's (Milvus), used as it is
    ef = None if kept is None else max(kept, saved.ef or 0)
    if ef is not None:
        index.ef = ef
    try:
        got = update(saved, ids, x, prints, lambda q: index_knn(index, ids, x, k, progress, queries=q), False)
    finally:
        if kept is not None:
            index.ef = kept
    return None if got is None else Graph(got, "updated", ef)


def _built(
    ids: np.ndarray, x: np.ndarray, k: int, open_index: OpenIndex | None, progress: Progress | None
) -> Graph:
    if open_index is None:
        return Graph(knn_graph(ids, x, k, None, progress), "built", None)
    index = open_index()
    with graph_ef(index, ids, x, min(k, len(ids) - 1)) as ef:
        rows, sims = index_knn(index, ids, x, k, progress)
    return Graph(KnnGraph(ids, rows, sims, False), "built", ef)
