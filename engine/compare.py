"""Comparing two models indexed on the same files: do they agree on who is near whom, and which one
groups the user's own labelled folders better? This answers "which embedding is right for my data"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UserError
from .index import normalise
from .labels import layout_of
from .plain import record
from .query import Explorer
from .stats.report import indexed_name
from .store import ModelRow

SAMPLE = 5_000  # query files; every common file when there are no more
TOP = 10
MAX_EXTRA = 256


@dataclass(frozen=True)
class Neighbor:
    path: str
    score: float  # cosine


@dataclass(frozen=True)
class Difference:
    """A file whose neighborhoods differ most, with both models' neighbor lists (by model name)."""

    path: str
    overlap: float
    label: str | None
    neighbors: dict[str, list[Neighbor]]


@dataclass(frozen=True)
class CompareReport:
    """What `compare_models` returns (the README's `compare --json` keys; the TUI's compare screen)."""

    models: tuple[str, str]
    k: int
    files: int  # embedded by both
    queries: int
    sampled: bool
    overlap_at_k: float
    labels: list[str] | None  # None: the folder is not laid out one sub-folder per label
    label_agreement_at_k: dict[str, float] | None
    better_label_agreement: str | None  # None on a tie or without labels
    most_different: list[Difference]

    def to_json(self) -> dict[str, Any]:
        return record(self)


def _neighbors(
    explorer: Explorer, model: ModelRow, common: np.ndarray, queries: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """[m, k] positions (in common) and cosines of each query's k nearest common files, self excluded.
    Files only this model embedded are skipped by asking the index for extra neighbors (at most
    MAX_EXTRA more: a query crowded by such files keeps fewer than k, marked -1)."""
    store = explorer.store
    ids, rows = store.embedded(model)
    vectors = normalise(store.vectors(model)[rows[np.searchsorted(ids, common[queries])]])
    extra = len(ids) - len(common)
    want = min(len(ids), k + 1 + min(extra, MAX_EXTRA))
    got, scores = explorer.knn(model, vectors, want)
    pos = np.full((len(queries), k), -1, np.int64)
    sims = np.full((len(queries), k), np.nan, np.float32)
    for i, (labels, row_scores) in enumerate(zip(got, scores, strict=False)):
        at = np.searchsorted(common, labels).clip(0, len(common) - 1)
        ok = (common[at] == labels) & (at != queries[i])
        pos[i, : min(k, ok.sum())] = at[ok][:k]
        sims[i, : min(k, ok.sum())] = row_scores[ok][:k]
    return pos, sims


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = set(a[a >= 0].tolist()), set(b[b >= 0].tolist())
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def compare_models(
    explorer: Explorer,
    model_a: str,
    model_b: str,
    k: int = 10,
    sample: int | None = SAMPLE,
    top: int = TOP,
    seed: int = 0,
) -> CompareReport:
    """Neighbor overlap@k (mean Jaccard) of two models over the files both embedded, the files whose
    neighborhoods differ most, and each model's label agreement@k when the folder is labelled."""
    model_a, model_b = indexed_name(explorer, model_a), indexed_name(explorer, model_b)
    if model_a == model_b:
        raise UserError("compare needs two different models")
    a, b = explorer.model(model_a), explorer.model(model_b)
    ids_a, _ = explorer.store.embedded(a)
    ids_b, _ = explorer.store.embedded(b)
    common = np.intersect1d(ids_a, ids_b)
    if len(common) < 2:
        raise UserError(
            f"models {a.name!r} and {b.name!r} share {len(common)} embedded files; "
            "index the same files with both (`vexplore index PATH --model A --model B`)"
        )
    k = min(k, len(common) - 1)
    path_of = explorer.store.paths_by_id(common)
    paths = [path_of[int(i)] for i in common]
    n = len(common)
    if sample is None or n <= sample:
        queries = np.arange(n)
    else:
        queries = np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))
    pos_a, sim_a = _neighbors(explorer, a, common, queries, k)
    pos_b, sim_b = _neighbors(explorer, b, common, queries, k)
    overlap = np.array([_jaccard(pa, pb) for pa, pb in zip(pos_a, pos_b, strict=False)])

    labels = layout_of(explorer.store.db, common, paths).labels
    agreement = None
    if labels is not None:
        lab = np.array([x or "" for x in labels], dtype=object)
        agreement = {m.name: _label_agreement(lab, queries, pos) for m, pos in ((a, pos_a), (b, pos_b))}

    def hits(pos: np.ndarray, sims: np.ndarray) -> list[Neighbor]:
        return [Neighbor(paths[p], round(float(s), 6)) for p, s in zip(pos, sims, strict=False) if p >= 0]

    order = np.lexsort((np.array([paths[q] for q in queries]), overlap))[:top]
    most_different = [
        Difference(
            path=paths[queries[i]],
            overlap=round(float(overlap[i]), 6),
            label=labels[queries[i]] if labels else None,
            neighbors={a.name: hits(pos_a[i], sim_a[i]), b.name: hits(pos_b[i], sim_b[i])},
        )
        for i in order
    ]
    better = None
    if agreement is not None and agreement[a.name] != agreement[b.name]:
        better = a.name if agreement[a.name] > agreement[b.name] else b.name
    return CompareReport(
        models=(a.name, b.name),
        k=k,
        files=n,
        queries=len(queries),
        sampled=len(queries) < n,
        overlap_at_k=round(float(overlap.mean()), 6),
        labels=sorted({x for x in labels if x}) if labels else None,
        label_agreement_at_k=agreement,
        better_label_agreement=better,
        most_different=most_different,
    )


def _label_agreement(labels: np.ndarray, queries: np.ndarray, pos: np.ndarray) -> float:
    """Mean share of each labelled query's k neighbors that carry its label."""
    shares = []
    for q, row in zip(queries, pos, strict=False):
        if not labels[q]:
            continue
        row = row[row >= 0]
        if len(row):
            shares.append(float(np.mean(labels[row] == labels[q])))
    return round(float(np.mean(shares)), 6) if shares else 0.0
