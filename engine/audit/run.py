"""`audit(explorer, model)`: what `vexplore audit` and the explorer's audit screen run. It loads one
model's vectors with each file's path, hash, label and split, builds the neighbor graph once, and hands
it to each finder (mislabel.py, leaks.py, duplicates.py, clusters.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..index import normalise
from ..labels import Layout, layout
from ..query import Explorer
from ..stats.report import indexed_name
from ..store import ModelRow
from .duplicates import (
    OUTLIERS,
    derived_threshold,
    duplicate_groups,
    outlier_fence,
    outlier_scores,
    top_outliers,
)
from .graph import KnnGraph, knn_graph
from .mislabel import find_mislabeled
from .report import AuditReport, DuplicateGroup, Duplicates, Mislabeled, Outlier

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AuditOptions:
    k: int = 10  # neighbors per file in the graph every finder reads
    splits: tuple[str, ...] | None = None  # split folder names (None: train, test, val, …)
    clusters: int | None = None  # None: chosen from the store's size
    duplicate_threshold: float | None = None  # near-copy cosine (None: derived, duplicates.py)
    outliers: int = OUTLIERS  # how many of the most isolated files the report lists


@dataclass(frozen=True)
class AuditData:
    """One model's files in file-id order: what every finder reads (row i of each is the same file)."""

    model: ModelRow
    ids: np.ndarray  # [n] file ids, ascending
    x: np.ndarray  # [n, dim] unit vectors
    paths: list[str]
    hashes: list[str | None]  # content hashes (blake2b-128) from the catalog
    modalities: list[str]
    layout: Layout


def load(explorer: Explorer, model_name: str | None, opts: AuditOptions) -> AuditData:
    models = explorer.models()
    if not models:
        raise UserError("the store holds no vectors yet: run `vexplore index` first")
    model = explorer.model(indexed_name(explorer, model_name)) if model_name else models[0]
    store = explorer.store
    ids, rows = store.embedded(model)
    if len(ids) == 0:
        raise UserError(f"model {model.name!r} has no vectors yet: run `vexplore index` first")
    x = np.ascontiguousarray(store.vectors(model)[rows])
    if not np.allclose(np.einsum("ij,ij->i", x, x), 1.0, atol=1e-3):
        x = normalise(x)
    facts = {
        fid: (path, digest, modality)
        for fid, path, digest, modality in store.db.execute("SELECT id, path, hash, modality FROM files")
    }
    paths = [facts[int(i)][0] for i in ids]
    return AuditData(
        model,
        ids,
        x,
        paths,
        [facts[int(i)][1] for i in ids],
        [facts[int(i)][2] for i in ids],
        layout(paths, opts.splits),
    )


def audit(
    explorer: Explorer,
    model_name: str | None = None,
    opts: AuditOptions | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """The audit of one model's files (the first indexed model when none is named), over every file."""
    opts = opts or AuditOptions()
    say = progress or (lambda message: None)
    started = time.monotonic()
    say("reading vectors")
    data = load(explorer, model_name, opts)
    say(f"neighbors of {len(data.ids):,} files")
    graph = neighbor_graph(explorer, data, opts.k)
    say("likely mislabelled files")
    paths = data.paths
    mislabeled = [
        Mislabeled(paths[f.row], f.label, f.suggested, f.score)
        for f in find_mislabeled(graph, data.layout.labels)
    ]
    say("duplicates and outliers")
    threshold = opts.duplicate_threshold or derived_threshold(graph)
    groups = duplicate_groups(graph, data.x, data.hashes, threshold)
    duplicates = Duplicates(
        threshold=threshold,
        groups=[DuplicateGroup([paths[r] for r in g.rows], g.min_cosine, g.exact) for g in groups],
    )
    fence = outlier_fence(outlier_scores(graph)) if len(data.ids) > 1 else None
    outliers = [
        Outlier(paths[row], score)
        for row, score in top_outliers(graph, opts.outliers)
        if fence is not None and score > fence
    ]
    # At merge, the lead enables these two call sites (engine/audit/leaks.py and clusters.py):
    # leaks, leak_threshold = find_leaks(explorer.store, data, graph)
    # clusters = named_clusters(explorer.store, data, graph, opts.clusters)
    return AuditReport(
        model=data.model.name,
        count=len(data.ids),
        labels=data.layout.label_names(),
        splits=data.layout.split_names(),
        mislabeled=mislabeled,
        leaks=[],
        leak_threshold=None,
        duplicates=duplicates,
        outliers=outliers,
        outlier_fence=None if fence is None else round(fence, 6),
        clusters=[],
        exact=graph.exact,
        seconds=round(time.monotonic() - started, 3),
    )


def neighbor_graph(explorer: Explorer, data: AuditData, k: int) -> KnnGraph:
    """Exact where that is cheap; the model's hnswlib index above the crossover (graph.EXACT_MAX)."""
    from .graph import EXACT_MAX

    index = explorer.index(data.model) if len(data.ids) > EXACT_MAX else None
    return knn_graph(data.ids, data.x, k, index)
