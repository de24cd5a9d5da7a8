"""What every finder of the audit reads: one model's files in file-id order, with each file's path,
content hash, modality, label and split, and the options the audit runs with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..labels import Layout, layout_of
from ..query import Explorer
from ..stats.report import model_vectors
from ..store import ModelRow
from .duplicates import OUTLIERS


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
    model, ids, x = model_vectors(explorer, model_name)
    store = explorer.store
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
        layout_of(store.db, ids, paths, opts.splits),
    )
