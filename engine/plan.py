"""Indexing's first step and its last: the catalog brought in line with the scan (new and changed files
hashed, rows inserted, updated, deleted) with the indexes that must change opened, and those indexes
saved once the models ran."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from .catalog import FileRow, ModelRow
from .events import Emit, NoticeEvent, PlanEvent
from .index import VectorIndex
from .loader import file_path
from .scan import Entry, Skipped, content_hash
from .store import Store


class Plan(NamedTuple):
    indexes: dict[str, VectorIndex]  # the indexes this run changes or mends, by model name
    removed: list[int]  # ids of the files gone from the folder
    new: int
    changed: int


def plan(root: Path, store: Store, entries: list[Entry], skipped: list[Skipped], emit: Emit) -> Plan:
    """Bring the catalog in line with the scan: vector files repaired, the indexes that must change
    opened, new and changed files hashed, file rows inserted, updated and deleted."""
    known = store.fingerprints()
    seen = {e.path for e in entries}
    gone = [p for p in known if p not in seen]
    indexes = open_indexes(store, bool(gone), emit)
    hashes = hash_changed(root, entries, known)
    keep = [s.path for s in skipped if s.keep]
    removed, new, changed = store.sync_files(entries, hashes, keep=keep) if hashes or gone else ([], 0, 0)
    for index in indexes.values():
        index.remove(removed)
    emit(PlanEvent(new, changed, len(removed), len(hashes)))
    return Plan(indexes, removed, new, changed)


def open_indexes(store: Store, gone: bool, emit: Emit) -> dict[str, VectorIndex]:
    """Indexes of a store that lost files are opened before the catalog changes, so that removals
    become mark_deleted on an index that matches the catalog rather than full rebuilds. A missing or
    damaged one is opened (rebuilt, with a notice) even when nothing else changes, and saved at the end."""
    indexes: dict[str, VectorIndex] = {}
    for row in store.models():
        repaired = store.repair_vectors(row)
        if repaired:
            emit(NoticeEvent(repaired))
            row = store.model(row.name) or row
        saved = VectorIndex(store, row)
        # Damage is mended on every run, and so is an index a killed writer left behind the catalog
        # (rebuilt and saved here once, rather than by every reader; the save also clears its temp file).
        if gone or repaired or saved.problem() or saved.behind():
            open_index(store, row, indexes, emit)
    return indexes


def hash_changed(
    root: Path, entries: list[Entry], known: dict[str, tuple[int, int]]
) -> dict[str, str | None]:
    """Content hashes of the new and changed files (only those are read); None: unreadable, the decode
    step records why."""
    hashes: dict[str, str | None] = {}
    for e in entries:
        old = known.get(e.path)
        if old != (e.size, e.mtime_ns):  # only new and changed files are read and hashed
            try:
                hashes[e.path] = content_hash(file_path(root, as_file_row(e)), e.size)
            except OSError:
                hashes[e.path] = None  # unreadable: the decode step records why
    return hashes


def save_indexes(indexes: dict[str, VectorIndex], removed: list[int], changed: set[str]) -> None:
    """Save the indexes that changed (tuned first when enough of them is new); changed: the models that
    embedded or failed files in this run."""
    for name, index in indexes.items():
        if index.hnsw is not None and (index.rebuilt or removed or name in changed):
            if index.tuning_stale():  # also a first index: built empty, then filled
                index.tune()
            index.save()


def open_index(store: Store, row: ModelRow, indexes: dict[str, VectorIndex], emit: Emit) -> VectorIndex:
    if row.name not in indexes:
        indexes[row.name] = VectorIndex(store, row).open(persist=False)
        if notice := indexes[row.name].notice:
            emit(NoticeEvent(notice))
    return indexes[row.name]


def as_file_row(e: Entry) -> FileRow:
    return FileRow(-1, e.path, e.raw, e.modality, e.size, e.mtime_ns, None, {})
