"""Likely mislabelled files with no trained classifier: confident learning (Northcutt et al., cleanlab)
on out-of-sample class probabilities that come from each file's neighbors in the graph.

A file's probabilities are a similarity-weighted vote of its k labelled neighbors (itself excluded, so
they are out of sample), smoothed toward the class shares. A fixed majority vote flags far too many
files of a class that is naturally spread out; confident learning instead gives each class j its own
threshold t_j, the mean probability of j over the files labelled j, and flags a file only when another
class's probability reaches that class's threshold and beats the file's own label.

Before anything is flagged, the labels must be predictable from the vectors at all: the share of files
whose own label wins their neighbors' vote is compared with the same share after the labels are shuffled
(seeded). When it is not clearly higher (Z_MIN standard errors), every file would look mislabelled for
the same reason, so none is flagged and the report says why (`label_signal`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .graph import KnnGraph
from .report import LabelSignal

Z_MIN = 3.0  # how many standard errors above the shuffled labels' agreement the real labels must be
SHUFFLE_SEED = 0
SMOOTHING = 1.0  # pseudo-neighbors spread over the classes by their shares (Laplace-style)
SLACK = 0.9  # share of a class's threshold that counts as reaching it
CHUNK_BYTES = 1 << 26  # bound on the [rows, k, k] comparison held at once


@dataclass(frozen=True)
class LabelFlag:
    """Row of a flagged file, its label, the suggested one, and a score in 0..1 (1 - the probability its
    own label gets: higher is more likely mislabelled)."""

    row: int
    label: str
    suggested: str
    score: float


@dataclass(frozen=True)
class NeighborVotes:
    """Out-of-sample probabilities, kept sparse: each file's own label, and each neighbor slot's class."""

    own: np.ndarray  # [n] probability of the file's own label (nan where the file has no label)
    slot_class: np.ndarray  # [n, k] class index of each neighbor (-1: unlabelled)
    slot_prob: np.ndarray  # [n, k] probability of that neighbor's class for the file
    prior: np.ndarray  # [classes] share of labelled files in each class


def encode(labels: Sequence[str | None]) -> tuple[np.ndarray, list[str]]:
    """Labels as class indices (-1: none) and the sorted class names."""
    names = sorted({lab for lab in labels if lab is not None})
    code = {name: i for i, name in enumerate(names)}
    return np.array([code.get(lab, -1) if lab is not None else -1 for lab in labels], np.int64), names


def neighbor_votes(
    graph: KnnGraph, y: np.ndarray, n_classes: int, smoothing: float = SMOOTHING
) -> NeighborVotes:
    """p_i(c) = (m·f_i(c) + s·prior_c) / (m + s): f_i(c) the cosine-weighted share (cosines clipped at 0)
    of class c among the m labelled neighbors of file i. Shares, not sums, so that every file with a pure
    neighborhood gets the same probability whatever its distances. Only classes some neighbor holds (and
    the file's own) are kept."""
    n, k = graph.rows.shape
    prior = np.bincount(y[y >= 0], minlength=n_classes).astype(np.float64)
    prior /= max(prior.sum(), 1.0)
    lab = y[graph.rows] if k else np.zeros((n, 0), np.int64)
    w = np.where(lab >= 0, np.clip(graph.sims, 1e-6, None), 0.0).astype(np.float64)
    m = (lab >= 0).sum(axis=1)
    w *= (m / np.maximum(w.sum(axis=1), 1e-12))[:, None]  # each row's weights now sum to m
    total = m + smoothing
    own_mass = (w * (lab == y[:, None])).sum(axis=1)
    own = np.where(y >= 0, (own_mass + smoothing * prior[np.maximum(y, 0)]) / total, np.nan)
    slot_prob = np.zeros((n, k), np.float64)
    step = max(1, CHUNK_BYTES // max(1, k * k))
    for start in range(0, n, step):
        part = slice(start, min(n, start + step))
        same = lab[part, :, None] == lab[part, None, :]
        slot_prob[part] = np.einsum("ijl,il->ij", same, w[part])
    slot_prob = (slot_prob + smoothing * prior[np.maximum(lab, 0)]) / total[:, None]
    return NeighborVotes(own, lab, np.where(lab >= 0, slot_prob, 0.0), prior)


def class_thresholds(votes: NeighborVotes, y: np.ndarray, n_classes: int) -> np.ndarray:
    """t_j: the mean probability of class j over the files labelled j (cleanlab's per-class threshold)."""
    held = y >= 0
    sums = np.bincount(y[held], weights=votes.own[held], minlength=n_classes)
    counts = np.bincount(y[held], minlength=n_classes)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)


def confident_flags(
    votes: NeighborVotes, y: np.ndarray, thresholds: np.ndarray, slack: float = SLACK
) -> tuple[np.ndarray, np.ndarray]:
    """(rows flagged, suggested class of each): files where another class c reaches its threshold (within
    `slack`: kNN votes move in steps of 1/k, so an ordinary member of a class sits just below its mean
    as often as above) and beats the file's own label, both measured against their class's threshold.
    The suggestion is the class that clears its threshold by the widest ratio."""
    cls = votes.slot_class
    other = (cls >= 0) & (cls != y[:, None]) & (y[:, None] >= 0)
    ratio = np.where(other, votes.slot_prob / thresholds[np.maximum(cls, 0)], 0.0)
    own_ratio = votes.own / thresholds[np.maximum(y, 0)]
    clears = other & (ratio >= slack) & (ratio > own_ratio[:, None])
    ratio = np.where(clears, ratio, 0.0)
    flagged = np.flatnonzero(clears.any(axis=1))
    best = ratio[flagged].argmax(axis=1)
    return flagged, cls[flagged, best]


def majority_flags(graph: KnnGraph, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The plain baseline: flag a labelled file when the majority label of its neighbors differs from its
    own (ties go to the file's own label). For benchmarks and tests, not the audit."""
    lab = y[graph.rows]
    counts = np.zeros((len(y), n_classes), np.int64)
    rows = np.repeat(np.arange(len(y)), lab.shape[1])
    held = lab.ravel() >= 0
    np.add.at(counts, (rows[held], lab.ravel()[held]), 1)
    top = counts.max(axis=1)
    mine = np.where(y >= 0, counts[np.arange(len(y)), np.maximum(y, 0)], -1)
    flagged = np.flatnonzero((y >= 0) & (top > mine) & (top > 0))
    return flagged, counts[flagged].argmax(axis=1)


def agreement(votes: NeighborVotes, y: np.ndarray) -> float:
    """Share of labelled files whose own label's probability is at least every other class's."""
    held = y >= 0
    if not held.any():
        return 0.0
    others = np.where((votes.slot_class >= 0) & (votes.slot_class != y[:, None]), votes.slot_prob, 0.0)
    best_other = others.max(axis=1) if others.shape[1] else np.zeros(len(y))
    return float(np.mean(votes.own[held] >= best_other[held]))


def label_signal(graph: KnnGraph, y: np.ndarray, n_classes: int, smoothing: float = SMOOTHING) -> LabelSignal:
    """The labels' agreement with their neighbors against the same with the labels shuffled."""
    real = agreement(neighbor_votes(graph, y, n_classes, smoothing), y)
    held = np.flatnonzero(y >= 0)
    shuffled_y = y.copy()
    shuffled_y[held] = np.random.default_rng(SHUFFLE_SEED).permutation(y[held])
    chance = agreement(neighbor_votes(graph, shuffled_y, n_classes, smoothing), shuffled_y)
    spread = np.sqrt(max(chance * (1 - chance), 1e-12) / max(len(held), 1))
    return LabelSignal(round(real, 6), round(chance, 6), bool(real > chance + Z_MIN * spread))


def labels_signal(graph: KnnGraph, labels: Sequence[str | None] | None) -> LabelSignal | None:
    """label_signal of the given labels; None without two classes to tell apart."""
    if labels is None or graph.k == 0:
        return None
    y, names = encode(labels)
    return label_signal(graph, y, len(names)) if len(names) >= 2 else None


def find_mislabeled(
    graph: KnnGraph,
    labels: Sequence[str | None] | None,
    slack: float = SLACK,
    smoothing: float = SMOOTHING,
    signal: LabelSignal | None = None,
) -> list[LabelFlag]:
    """Flags over every labelled file, most likely mislabelled first (ties by row); none when `signal`
    says the labels are not predictable from the vectors."""
    if labels is None or graph.k == 0 or (signal is not None and not signal.usable):
        return []
    y, names = encode(labels)
    if len(names) < 2:
        return []
    votes = neighbor_votes(graph, y, len(names), smoothing)
    flagged, suggested = confident_flags(votes, y, class_thresholds(votes, y, len(names)), slack)
    score = 1.0 - votes.own[flagged]
    order = np.lexsort((flagged, -score))
    return [
        LabelFlag(int(flagged[i]), names[y[flagged[i]]], names[suggested[i]], round(float(score[i]), 6))
        for i in order
    ]
