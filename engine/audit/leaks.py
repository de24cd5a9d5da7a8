"""Leakage between splits: every file of a non-train split with an exact or near copy in another split.

Files outside any split folder are neither flagged nor matched. Candidates come only from the neighbor
graph (k per file, read in both directions) and from groups of files with one content hash, never from
all cross-split pairs, so the cost grows with n·k; content is read for at most EVIDENCE_PAIRS of them.

The rule, in the order it is applied to each candidate pair (a non-train file, a file of another split):
- the same content hash: a leak, whatever the vectors say;
- cosine at or above the cut-off: a leak, unless content evidence flatly disagrees;
- cosine in the band below it (up to BAND of the median nearest same-split distance): a leak only when
  content evidence says copy.
The cut-off comes from the data: a copy must be closer than files of one split normally are to their
nearest neighbor (see `cutoff`). Content evidence (evidence.py): text by the estimated Jaccard overlap of
character shingles, pictures and videos by the perceptual hash (DCT) of the stored thumbnails, sounds by
a band-energy print read from the file (and a stored transcript, as text, where the store holds one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..store import Store
from .data import AuditData
from .evidence import (
    hamming,
    jaccard_estimate,
    minhash,
    phash,
    shingles,
    sound_distance,
    sound_print,
    text_signature,
)
from .graph import KnnGraph
from .report import Leak, LeakMatch, LeakThreshold

NEAR = 0.5  # a copy is at most this share of the median nearest same-split distance away
BAND = 1.0  # pairs up to this share of it away are copies when their content agrees
EVIDENCE_PAIRS = 200_000  # most pairs whose content is read (the closest): bounds the reading at scale
MIN_SAMPLE = 5  # same-split nearest neighbors needed for the median; fewer: every file's nearest
TEXT_COPY = 0.5  # estimated shingle Jaccard at or above which two texts are copies
TEXT_DIFFERENT = 0.2  # below which they flatly disagree (an edit of a few words keeps over half)
PHASH_COPY = 12  # bits (of 64) within which two thumbnails are copies
PHASH_DIFFERENT = 24  # bits from which they flatly disagree (unrelated pictures differ by about 32)
SOUND_COPY = 0.25  # share of differing sound-print bits up to which two sounds are copies
SOUND_DIFFERENT = 0.33  # from which they flatly disagree (unrelated sounds differ in about half)
MAX_MATCHES = 10  # matches listed per leaking file, best first


@dataclass(frozen=True)
class Cutoff:
    value: float  # the cosine cut-off
    lower: float  # the bottom of the band where content evidence decides
    median: float  # median nearest same-split distance (1 - cosine)
    sample: int  # distances it is the median of
    same_split: bool  # False: too few same-split neighbors, so every file's nearest neighbor


@dataclass(frozen=True)
class Pairs:
    """Candidate pairs: a (a file of a non-train split) and b (a file of another split)."""

    a: np.ndarray
    b: np.ndarray
    cos: np.ndarray
    exact: np.ndarray

    def take(self, keep: np.ndarray) -> Pairs:
        return Pairs(self.a[keep], self.b[keep], self.cos[keep], self.exact[keep])


def find_leaks(store: Store, data: AuditData, graph: KnnGraph) -> tuple[list[Leak], LeakThreshold | None]:
    """The leaking files, surest first, and the cut-off with how it was chosen (None without splits)."""
    splits = data.layout.splits
    if splits is None:
        return [], None
    code = split_codes(splits)
    digest = hash_codes(data.hashes)
    cut = cutoff(graph, code, digest)
    tested = np.array([s is not None and s.lower() != "train" for s in splits], bool)
    pairs = candidates(graph, data.x, code, digest, tested)
    near = np.flatnonzero(~pairs.exact & (pairs.cos >= cut.lower))
    capped = len(near) > EVIDENCE_PAIRS
    if capped:  # the closest pairs only: the ones above the cut-off are among them
        near = near[np.argsort(-pairs.cos[near], kind="stable")[:EVIDENCE_PAIRS]]
    verdict = np.zeros(len(pairs.a), np.int8)
    verdict[near] = content_verdict(store, data, pairs.a[near], pairs.b[near])
    judged = np.zeros(len(pairs.a), bool)
    judged[near] = True
    keep = pairs.exact | ((pairs.cos >= cut.value) & (verdict >= 0)) | (judged & (verdict > 0))
    threshold = LeakThreshold(round(cut.value, 4), describe(cut, capped))
    return leaks_of(data, splits, pairs.take(keep)), threshold


def split_codes(splits: list[str | None]) -> np.ndarray:
    """Each file's split as a small integer, -1 outside any split."""
    names = {s: i for i, s in enumerate(sorted({s for s in splits if s is not None}))}
    return np.array([-1 if s is None else names[s] for s in splits], np.int64)


def hash_codes(hashes: list[str | None]) -> np.ndarray:
    """Each file's content hash as an integer (equal hashes, equal integers), -1 where there is none."""
    text = np.array([h or "" for h in hashes], dtype=str)
    uniq, inverse = np.unique(text, return_inverse=True)
    out = inverse.astype(np.int64)
    if len(uniq) and uniq[0] == "":
        out[text == ""] = -1
    return out


def cutoff(graph: KnnGraph, code: np.ndarray, digest: np.ndarray) -> Cutoff:
    """1 - NEAR × the median distance from a file to its nearest neighbor in its own split (exact copies
    within a split left out, so they cannot drag the median to zero). The band where content decides
    reaches down to 1 - BAND × that median."""
    rows, sims = graph.rows, graph.sims
    if rows.shape[1] == 0:
        return Cutoff(1.0, 1.0, 0.0, 0, False)
    valid = rows >= 0
    nb = np.where(valid, rows, 0)
    same = valid & (code[nb] == code[:, None]) & (code[:, None] >= 0)
    same &= ~((digest[nb] == digest[:, None]) & (digest[:, None] >= 0))
    first = same.argmax(axis=1)
    d = 1.0 - sims[np.arange(len(rows)), first][same.any(axis=1)].astype(np.float64)
    same_split = len(d) >= MIN_SAMPLE
    if not same_split:
        d = 1.0 - sims[:, 0].astype(np.float64)
    median = float(np.median(d)) if len(d) else 0.0
    return Cutoff(1.0 - NEAR * median, 1.0 - BAND * median, median, len(d), same_split)


def describe(cut: Cutoff, capped: bool = False) -> str:
    whose = "its nearest neighbor in its own split" if cut.same_split else "its nearest neighbor"
    return (
        f"cosine >= {cut.value:.4f}: 1 - {NEAR} x the median distance (1 - cosine, {cut.median:.4f}) from a "
        f"file to {whose}, over {cut.sample:,} files, so a copy across splits is at least "
        f"{1 / NEAR:g} times closer than files of one split usually are to each other. Pairs from cosine "
        f"{cut.lower:.4f} (1 - {BAND:g} x the median) up to the cut-off count when their content agrees "
        f"(texts: estimated Jaccard of character shingles >= {TEXT_COPY}; pictures: thumbnails' pHash "
        f"within {PHASH_COPY} of 64 bits; sounds: band-energy prints differing in <= {SOUND_COPY:.0%} of "
        f"bits); pairs above it are dropped when their content flatly disagrees (Jaccard < "
        f"{TEXT_DIFFERENT}; pHash {PHASH_DIFFERENT} bits or more apart; prints {SOUND_DIFFERENT:.0%} or "
        f"more apart). Files with the same content hash always count."
        + (f" Content was read for the {EVIDENCE_PAIRS:,} closest pairs only." if capped else "")
    )


def candidates(
    graph: KnnGraph, x: np.ndarray, code: np.ndarray, digest: np.ndarray, tested: np.ndarray
) -> Pairs:
    """Graph edges between splits, read both ways, and same-hash pairs between splits, each pair once,
    with the non-train file first."""
    n, k = graph.rows.shape
    a = np.repeat(np.arange(n, dtype=np.int64), k)
    b = graph.rows.ravel().astype(np.int64)
    ok = b >= 0
    a, b = a[ok], b[ok]
    ha, hb = same_hash_pairs(digest, code, tested)
    a, b = np.concatenate([a, b, ha]), np.concatenate([b, a, hb])
    keep = tested[a] & (code[b] >= 0) & (code[a] != code[b])
    key = np.unique(a[keep] * n + b[keep])
    a, b = key // n, key % n
    exact = (digest[a] == digest[b]) & (digest[a] >= 0)
    return Pairs(a, b, pair_cosines(x, a, b), exact)


def pair_cosines(x: np.ndarray, a: np.ndarray, b: np.ndarray, block: int = 65_536) -> np.ndarray:
    """Cosines of the pairs (a[i], b[i]), a block at a time: never a copy of the vectors per pair."""
    out = np.empty(len(a), np.float64)
    for start in range(0, len(a), block):
        ra, rb = a[start : start + block], b[start : start + block]
        out[start : start + block] = np.einsum("ij,ij->i", x[ra], x[rb])
    return out


def same_hash_pairs(
    digest: np.ndarray, code: np.ndarray, tested: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(non-train file, file of another split) pairs with one content hash, at most MAX_MATCHES per file.
    Only hash groups that span two splits are walked, so the work is proportional to what leaks."""
    live = np.flatnonzero((digest >= 0) & (code >= 0))
    if len(live) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pair_keys = np.unique(digest[live] * (code.max() + 1) + code[live])
    spans = np.bincount(pair_keys // (code.max() + 1))
    live = live[spans[digest[live]] >= 2]
    order = live[np.argsort(digest[live], kind="stable")]
    starts = np.flatnonzero(np.r_[True, digest[order][1:] != digest[order][:-1]])
    a_out: list[int] = []
    b_out: list[int] = []
    for group in np.split(order, starts[1:]):
        for m in group[tested[group]]:
            others = group[code[group] != code[m]][:MAX_MATCHES]
            a_out.extend([int(m)] * len(others))
            b_out.extend(int(o) for o in others)
    return np.array(a_out, np.int64), np.array(b_out, np.int64)


@dataclass
class Content:
    """Evidence per row, for the rows a finder asked about: text signatures, picture hashes, sound prints."""

    text: dict[int, np.ndarray] = field(default_factory=dict)
    picture: dict[int, int] = field(default_factory=dict)
    sound: dict[int, np.ndarray] = field(default_factory=dict)


def content_verdict(store: Store, data: AuditData, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per pair: 1 where the content says copy, -1 where it flatly disagrees, 0 where there is no
    evidence (a vectors-file item, an unreadable file, a picture without a thumbnail)."""
    content = content_of(store, data, np.unique(np.concatenate([a, b])))
    out = np.zeros(len(a), np.int8)
    has = _both(content.text, a, b)
    if has.any():
        j = jaccard_estimate(
            np.stack([content.text[int(i)] for i in a[has]]), np.stack([content.text[int(i)] for i in b[has]])
        )
        out[has] = np.where(j >= TEXT_COPY, 1, np.where(j < TEXT_DIFFERENT, -1, 0))
    has = _both(content.picture, a, b)
    if has.any():
        bits = hamming(
            np.array([content.picture[int(i)] for i in a[has]], np.uint64),
            np.array([content.picture[int(i)] for i in b[has]], np.uint64),
        )
        out[has] = np.where(bits <= PHASH_COPY, 1, np.where(bits >= PHASH_DIFFERENT, -1, 0))
    has = _both(content.sound, a, b)
    if has.any():
        apart = np.array(
            [
                sound_distance(content.sound[int(i)], content.sound[int(j)])
                for i, j in zip(a[has], b[has], strict=True)
            ]
        )
        out[has] = np.where(apart <= SOUND_COPY, 1, np.where(apart >= SOUND_DIFFERENT, -1, 0))
    return out


def _both(known: dict, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not known:
        return np.zeros(len(a), bool)
    rows = np.fromiter(known, np.int64, len(known))
    return np.isin(a, rows) & np.isin(b, rows)


def content_of(store: Store, data: AuditData, rows: np.ndarray) -> Content:
    """Evidence of the given rows: a text file's text read from disk (a stored text, a transcript, for
    other files), the stored thumbnail of a picture or video, a sound's print from its file."""
    root = Path(store.root)
    content = Content()
    for row in rows.tolist():
        modality, path = data.modalities[row], root / data.paths[row]
        if modality == "text":
            sig = text_signature(path)
            if sig is not None:
                content.text[row] = sig
            continue
        if modality == "audio":
            heard = sound_print(path)
            if heard is not None:
                content.sound[row] = heard
        thumb, text = store.extras(int(data.ids[row]))
        if modality in ("image", "video") and thumb:
            h = phash(thumb)
            if h is not None:
                content.picture[row] = h
        elif text and text.strip():
            content.text[row] = minhash(shingles(text))
    return content


def leaks_of(data: AuditData, splits: list[str | None], pairs: Pairs) -> list[Leak]:
    """One Leak per non-train file, its matches exact first then by cosine; the leaks in the same order
    by their best match, then by path."""
    order = np.lexsort((-pairs.cos, ~pairs.exact, pairs.a))
    a, b, cos, exact = pairs.a[order], pairs.b[order], pairs.cos[order], pairs.exact[order]
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]]) if len(a) else np.zeros(0, np.int64)
    stops = np.r_[starts[1:], len(a)]
    out = []
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        top = range(start, min(stop, start + MAX_MATCHES))
        row = int(a[start])
        matches = [
            LeakMatch(data.paths[int(b[i])], str(splits[int(b[i])]), round(float(cos[i]), 4), bool(exact[i]))
            for i in top
        ]
        out.append(Leak(data.paths[row], str(splits[row]), matches))
    out.sort(key=lambda leak: (not leak.matches[0].exact, -leak.matches[0].score, leak.path))
    return out
