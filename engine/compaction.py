"""Compaction: a model's vector file rewritten with only the rows the catalog still references.

Changed and removed files leave their old rows in the vector file (appends never rewrite it), so a folder
re-indexed after many edits would grow its file without bound. At the end of an index run, a model whose
unreferenced rows reach both thresholds gets a new file under a new name, written and fsynced first;
one catalog transaction then renumbers the rows and names the new file; only then is the old file
removed. A crash before the commit leaves the new file unnamed, after it the old one: the next writer
deletes whichever the catalog does not name. Readers hold the readers lock (lock.py) while open, and a
compaction runs only when it gets that lock exclusively, so no reader pairs one layout's rows with the
other file. The hnswlib index is keyed by file id, not row: it stays valid and is not rebuilt."""

from __future__ import annotations

import time

import numpy as np

from .events import Compacted, CompactionSkipped, Emit
from .lock import ReadersLock
from .store import ModelRow, Store

MIN_SHARE = 0.25  # unreferenced rows as a share of the file, at least
MIN_ROWS = 1_000  # and at least this many rows: small files are not worth a rewrite
CHUNK_ROWS = 65_536  # rows copied per write
BUSY = "a reader has the store open"


def due(rows: int, live: int) -> bool:
    garbage = rows - live
    return garbage >= MIN_ROWS and garbage >= MIN_SHARE * rows


def compact(store: Store, model: ModelRow) -> ModelRow:
    """Rewrite one model's vector file with its live rows, in row order (so the copy reads sequentially).
    The caller holds the writer lock and the readers lock exclusive."""
    file_ids, starts, counts = store.live_rows(model)
    new_starts = np.cumsum(counts) - counts
    total = int(counts.sum())
    source = np.repeat(starts - new_starts, counts) + np.arange(total)  # old row of each new row
    old_file = store.vector_file(model)
    old = store.vectors(model)
    new_file = old_file.successor()
    new_file.write(old[source[at : at + CHUNK_ROWS]] for at in range(0, total, CHUNK_ROWS))
    del old
    model = store.switch_vectors(model, new_file.name, file_ids, new_starts, total)
    old_file.remove()
    return model


def compact_store(store: Store, emit: Emit) -> list[Compacted | CompactionSkipped]:
    """Compact every model that is due, unless a reader has the store open (then say so and leave it for
    a later run). Returns the per-model figures for the run's summary. Writer only."""
    todo = [
        (m, live) for m in store.models() if m.rows >= MIN_ROWS and due(m.rows, live := store.live_count(m))
    ]
    if not todo:
        return []
    readers = ReadersLock(store.dir)
    if not readers.exclusive():
        skipped: list[Compacted | CompactionSkipped] = [
            CompactionSkipped(m.name, m.rows, m.rows - live, BUSY) for m, live in todo
        ]
        for figures in skipped:
            emit(figures)
        return skipped
    done: list[Compacted | CompactionSkipped] = []
    try:
        for model, _ in todo:
            started = time.monotonic()
            after = compact(store, model)
            assert after.vectors is not None  # compact always names the file it wrote
            compacted = Compacted(
                model.name, model.rows, after.rows, after.vectors, round(time.monotonic() - started, 3)
            )
            emit(compacted)
            done.append(compacted)
    finally:
        readers.release()
    return done
