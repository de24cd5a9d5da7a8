"""`audit(explorer, model)`: what `vexplore audit` and the explorer's audit screen run. It loads one
model's vectors with each file's path, hash, label and split, builds the neighbor graph once, and hands
it to each finder (mislabel.py, leaks.py, duplicates.py, clusters.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..query import Explorer
from .clusters import named_clusters
from .data import AuditData, AuditOptions, load
from .duplicates import (
    derived_threshold,
    duplicate_groups,
    outlier_fence,
    outlier_scores,
    top_outliers,
)
from .graph import KnnGraph
from .leaks import find_leaks
from .mislabel import find_mislabeled, labels_signal
from .report import AuditReport, DuplicateGroup, Duplicates, Mislabeled, Outlier

Progress = Callable[[str], None]


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
    graph = neighbor_graph(explorer, data, opts.k, say)
    say("likely mislabelled files")
    paths = data.paths
    signal = labels_signal(graph, data.layout.labels)
    mislabeled = [
        Mislabeled(paths[f.row], f.label, f.suggested, f.score)
        for f in find_mislabeled(graph, data.layout.labels, signal=signal)
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
    say("leaks between splits")
    leaks, leak_threshold = find_leaks(explorer.store, data, graph)
    say("clusters and their names")
    clusters = named_clusters(explorer.store, data, graph, opts.clusters)
    return AuditReport(
        model=data.model.name,
        count=len(data.ids),
        labels=data.layout.label_names(),
        splits=data.layout.split_names(),
        mislabeled=mislabeled,
        leaks=leaks,
        leak_threshold=leak_threshold,
        duplicates=duplicates,
        outliers=outliers,
        outlier_fence=None if fence is None else round(fence, 6),
        clusters=clusters,
        label_signal=signal,
        exact=graph.exact,
        seconds=round(time.monotonic() - started, 3),
    )


def neighbor_graph(explorer: Explorer, data: AuditData, k: int, say: Progress | None = None) -> KnnGraph:
    """The store's graph for this generation (graphstore.py): read when current, updated when a few files
    changed, else built: exact where that is cheap, the model's hnswlib index above the crossover
    (index.EXACT_MAX). A build is most of the audit's time at a million files, so its progress is said."""
    tell = say or (lambda message: None)
    got = explorer.neighbor_graph(
        data.model,
        data.ids,
        data.x,
        k,
        lambda done, total: tell(f"neighbors of {total:,} files: {done:,} done"),
    )
    assert got is not None  # build=True always gives one
    tell(f"neighbor graph {got.how}")
    return got.graph
