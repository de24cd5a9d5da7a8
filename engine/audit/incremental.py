"""Bringing a saved neighbor graph up to date after a few files changed, without an n × n rebuild.

A file whose vector is gone or differs (removed, or edited: its fingerprint changed) drops out, and so
does every row whose neighbor list named it: those rows are searched again. Added and edited files get
their own rows searched. Every other row is offered the new vectors: its list was the exact top k over
the files it saw, all still there and unchanged, so its top k now is the top k of that list and the new
files' similarities. The cost is about (new + searched again) × n similarities, never n²; ties keep the
lower file id first, as a full build does, so in the exact regime the result equals a full rebuild.

Rule: when the rows to search again (new, edited, or naming a gone file) exceed FULL_SHARE of the files,
the caller rebuilds in full: by then the update costs a large part of a rebuild and saves little."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .graph import BLOCK_BYTES, KnnGraph, _top_k
from .graphfile import StoredGraph

FULL_SHARE = 0.25
Search = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # row positions → (neighbor rows, cosines)


@dataclass(frozen=True)
class Change:
    """How the store's files now differ from a saved graph's, as row positions in the files now."""

    keep: np.ndarray  # rows whose saved list still holds: offered the fresh rows only
    keep_rows: np.ndarray  # [len(keep), k] their saved neighbors as row positions now
    keep_sims: np.ndarray  # [len(keep), k]
    fresh: np.ndarray  # added or edited files: searched, and offered to the kept rows
    redo: np.ndarray  # unchanged files whose saved list named a removed or edited file: searched

    @property
    def searched(self) -> int:
        return len(self.fresh) + len(self.redo)


def diff(old: StoredGraph, ids: np.ndarray, prints: np.ndarray, k: int) -> Change:
    """Compare the saved graph's files and fingerprints with the store's (ids ascending) at width k."""
    n = len(ids)
    at = np.minimum(np.searchsorted(ids, old.ids), n - 1)
    same = (ids[at] == old.ids) & (prints[at] == old.fingerprints)
    kept_old, kept_new = np.nonzero(same)[0], at[same]
    is_kept = np.zeros(n, bool)
    is_kept[kept_new] = True
    named = old.neighbors[kept_old, :k]
    where = np.minimum(np.searchsorted(ids, named), n - 1)
    whole = ((ids[where] == named) & is_kept[where]).all(axis=1)
    return Change(
        keep=kept_new[whole],
        keep_rows=where[whole],
        keep_sims=old.sims[kept_old[whole], :k],
        fresh=np.nonzero(~is_kept)[0],
        redo=kept_new[~whole],
    )


def offer(
    x: np.ndarray, change: Change, k: int, block_bytes: int = BLOCK_BYTES
) -> tuple[np.ndarray, np.ndarray]:
    """The kept rows' lists after the fresh rows are offered to them: a block of kept rows against every
    fresh row at a time (bounded memory). Only a row whose best fresh similarity reaches its k-th (a tie
    may win on file id) can change; its best k fresh ones are merged with its saved k."""
    rows, sims = change.keep_rows.copy(), change.keep_sims.copy()
    fresh = change.fresh
    if not len(fresh) or not len(change.keep):
        return rows, sims
    xf = x[fresh]
    step = max(1, block_bytes // (4 * len(fresh)))
    for start in range(0, len(change.keep), step):
        s = x[change.keep[start : start + step]] @ xf.T
        touched = np.nonzero(s.max(axis=1) >= sims[start : start + step, -1])[0]
        if not len(touched):
            continue
        cols, vals = _top_k(s[touched], min(k, len(fresh)))
        at = touched + start
        cand_rows = np.concatenate([rows[at], fresh[cols]], axis=1)
        cand_sims = np.concatenate([sims[at], vals], axis=1)
        order = np.lexsort((cand_rows, -cand_sims), axis=1)[:, :k]
        rows[at] = np.take_along_axis(cand_rows, order, axis=1)
        sims[at] = np.take_along_axis(cand_sims, order, axis=1)
    return rows, sims


def update(
    old: StoredGraph, ids: np.ndarray, x: np.ndarray, prints: np.ndarray, search: Search, exact: bool
) -> KnnGraph | None:
    """The saved graph brought up to date at its own width (fewer when fewer files are left), or None
    when too much changed (FULL_SHARE) or too few files are left: rebuild then."""
    n = len(ids)
    k = min(old.k, n - 1)
    if k < 1:
        return None
    change = diff(old, ids, prints, k)
    if change.searched > FULL_SHARE * n:
        return None
    rows = np.empty((n, k), np.int64)
    sims = np.empty((n, k), np.float32)
    rows[change.keep], sims[change.keep] = offer(x, change, k)
    again = np.sort(np.concatenate([change.fresh, change.redo]))
    if len(again):
        rows[again], sims[again] = search(again)
    return KnnGraph(ids, rows, sims, exact)
