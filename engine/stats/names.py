"""Names for the statistics' k-means clusters, made the way the audit names its own (audit/clusters.py):
distinctive words of the members' text, classifier tags, or the label/folder mix. The projection's legend
and the clusters table show them, so a colour on the scatter reads as what it holds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..labels import layout
from ..store import ModelRow, Store
from .schema import Cluster


def name_clusters(
    store: Store,
    model: ModelRow,
    ids: np.ndarray,
    x: np.ndarray,
    paths: list[str],
    labels: np.ndarray,
    centres: np.ndarray,
    clusters: list[Cluster],
) -> list[Cluster]:
    """The clusters with `name` and `keywords` filled in; labels[i] is row i's cluster id."""
    from ..audit.clusters import Partition, name_partition  # the audit's data module reads the stats'
    from ..audit.data import AuditData

    if not clusters:
        return clusters
    modality = dict(store.db.execute("SELECT id, modality FROM files").fetchall())
    data = AuditData(
        model,
        ids,
        x,
        paths,
        [None] * len(paths),
        [modality.get(int(i), "") for i in ids],
        layout(paths),
    )
    central, members = [], []
    for c in clusters:
        rows = np.flatnonzero(labels == c.id)
        centre = centres[c.id] / max(float(np.linalg.norm(centres[c.id])), 1e-12)
        members.append(rows)
        central.append(rows[np.argsort(-(x[rows] @ centre), kind="stable")])
    named = name_partition(store, data, Partition(central, members))
    return [replace(c, name=n.name, keywords=n.keywords) for c, n in zip(clusters, named, strict=True)]
