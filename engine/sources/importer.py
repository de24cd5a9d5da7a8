"""Bringing a vectors source into a store of the usual format, and keeping it up to date by id.

A first import is written into a temporary store beside the final one and renamed into place when it
is complete, so a failure leaves no half-imported store. A later import compares each row with what
the store holds (content hash of the vector, a digest of its label, text and path): new and changed
rows are committed batch by batch like indexing, rows gone from the source are removed at the end.
An unchanged source (same fingerprint, same columns) is not read at all."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..compaction import compact_store
from ..diskfull import DiskFull, estimate_needed, is_disk_full
from ..events import (
    DoneEvent,
    Emit,
    ErrorEvent,
    FileError,
    IndexSummary,
    ModelEvent,
    ModelReport,
    PlanEvent,
    ProgressEvent,
)
from ..index import VectorIndex
from ..lock import WriterLock
from ..store import ModelRow, Store
from .base import Batch, SourceInfo, VectorSource
from .imported_models import model_names, model_row, record_modalities, save_index
from .several import Member, grouped
from .validate import check
from .write import Known, commit_rows, remove_rows

STATE_FILE = "source.json"  # what was imported: the source's location, fingerprint, columns and models


@dataclass(frozen=True)
class ImportOptions:
    model: str | None = None  # the vectors' model name (default: the source's, else "imported"); with
    # several vector columns, a comma-separated name for each in order (default: the column names)
    columns: tuple[tuple[str, object], ...] = ()  # the column choices, part of what makes a state current
    build_index: bool = True
    batch_rows: int = 65536


def state_of(info: SourceInfo, opts: ImportOptions) -> dict:
    """What the store records of an import: an import of the same state has nothing to read."""
    return {
        "location": _absolute(info.location),
        "kind": info.kind,
        "fingerprint": info.fingerprint,
        "columns": json.loads(json.dumps(dict(opts.columns))),  # as read back: tuples are lists
    }


def _absolute(location: str) -> str:
    """The location as the same source is named from any working folder (a URI is left as it is)."""
    if "://" in location:
        return location
    path, mark, table = location.partition("#")
    return (os.path.abspath(path) if os.path.exists(path) else path) + mark + table


def is_current(store_dir: Path, info: SourceInfo, opts: ImportOptions) -> bool:
    """Whether the store already holds exactly this source: nothing to read."""
    try:
        saved = json.loads((store_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    saved.pop("model", None)  # what a store imported by an earlier vexplore recorded
    models = saved.pop("models", None)
    if opts.model is not None and models != _split(opts.model):
        return False
    return saved == state_of(info, opts) and (store_dir / "catalog.sqlite").exists()


def _split(names: str) -> list[str]:
    return [n.strip() for n in names.split(",") if n.strip()]


def import_source(
    source: VectorSource | list[Member],
    root: Path,
    store_dir: Path,
    opts: ImportOptions,
    emit: Emit | None = None,
    stop: threading.Event | None = None,
) -> IndexSummary:
    """Bring the store at store_dir up to date with the source (one reader, or one per vector column);
    returns the summary `index` gives."""
    emit = emit or (lambda event: None)
    stop = stop or threading.Event()
    started = time.monotonic()
    members = source if isinstance(source, list) else [Member(None, source)]
    infos = [m.reader.describe() for m in members]
    info = infos[0]
    if is_current(store_dir, info, opts):
        summary = _summary(info.rows or 0, 0, info.rows or 0, 0, [], [], False, store_dir, started)
        emit(DoneEvent(summary))
        return summary
    fresh = not (store_dir / "catalog.sqlite").exists()
    target = store_dir.with_name(f"{store_dir.name}.tmp-{os.getpid()}") if fresh else store_dir
    if fresh:
        shutil.rmtree(target, ignore_errors=True)
    else:  # until this import completes, the store matches no state of the source
        (store_dir / STATE_FILE).unlink(missing_ok=True)
    try:
        with WriterLock(target), Store(root, target, create=True) as store:
            try:
                summary = _bring_in(store, members, infos, opts, emit, stop, started)
            except Exception as exc:
                if fresh or not is_disk_full(exc, store_dir):
                    raise
                raise store.settle_disk_full(info.rows or 0, "importing") from exc
        if fresh:
            _move_into_place(target, store_dir)
            summary = replace(summary, store=str(store_dir.resolve()))
    except BaseException as exc:
        if fresh:
            shutil.rmtree(target, ignore_errors=True)
            if isinstance(exc, Exception) and is_disk_full(exc, target.parent):
                # Nothing of a first import is kept: the next run starts it again from the source.
                needed = estimate_needed(info.rows or 0, [i.dim or 0 for i in infos], store_dir)
                raise DiskFull(store_dir, 0, needed, "importing") from exc
        raise
    if not summary.interrupted:
        _record_state(store_dir, state_of(info, opts), summary)
    emit(DoneEvent(summary))
    return summary


def _record_state(store_dir: Path, state: dict, summary: IndexSummary) -> None:
    """Mark the store current with the source. Without room for this small file the store is complete
    all the same: the next run reads the source once more, finds every row unchanged and records it."""
    tmp = store_dir / f"{STATE_FILE}.tmp"
    state = state | {"models": [m.name for m in summary.models]}
    try:
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, store_dir / STATE_FILE)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if not is_disk_full(exc):
            raise
        raise DiskFull(store_dir, summary.files - summary.failed, None, "recording the import") from exc


@dataclass
class _Tally:
    """What one pass over the source did."""

    seen: set[str] = field(default_factory=set)  # every id read
    kinds: set[str] = field(default_factory=set)  # the modalities of the rows
    errors: list[FileError] = field(default_factory=list)
    failed: dict[str, int] = field(default_factory=dict)  # model -> rows without a vector
    failed_ids: set[str] = field(default_factory=set)
    done: int = 0
    new: int = 0
    changed: int = 0


def _move_into_place(target: Path, store_dir: Path) -> None:
    """Rename a complete first import to its final name. Another process that imported the same source
    at the same time and finished first keeps its store (readers may have it open): this one is dropped.
    A store folder without a catalog (nothing was ever committed to it) is replaced."""
    if (store_dir / "catalog.sqlite").exists():
        shutil.rmtree(target, ignore_errors=True)
        return
    if store_dir.exists():
        shutil.rmtree(store_dir)
    os.replace(target, store_dir)


def _bring_in(
    store: Store,
    members: list[Member],
    infos: list[SourceInfo],
    opts: ImportOptions,
    emit: Emit,
    stop: threading.Event,
    started: float,
) -> IndexSummary:
    info = infos[0]
    names = model_names(store, members, infos, opts)
    rows: list[ModelRow] = []
    indexes: list[VectorIndex | None] = []
    for name, member_info in zip(names, infos, strict=True):
        row, existed = model_row(store, name, member_info)
        repaired = store.repair_vectors(row)
        rows.append(store.catalog.current(row.name))
        indexes.append(VectorIndex(store, rows[-1]).open(persist=False) if existed and not repaired else None)
    known = Known.read(store)
    shown = ", ".join(names)
    emit(ModelEvent(shown, info.rows or 0, rows[0].dim, "import", source=info.location))
    tally = _Tally()
    for group in grouped(members, opts.batch_rows):
        _commit(store, rows, group, known, indexes, tally, emit)
        last = group[0].ids[-1] if group[0].ids else ""
        _progress(emit, shown, tally.done, len(tally.failed_ids), info.rows, last, started)
        if stop.is_set():
            break
    removed: list[int] = []
    if not stop.is_set():
        removed = [known.rows[key][0] for key in known.rows.keys() - tally.seen]
        remove_rows(store, removed)
        for index in indexes:
            if index is not None:
                index.remove(removed)
    emit(PlanEvent(tally.new, tally.changed, len(removed), tally.done))
    for row in rows:
        record_modalities(store, row, tally.kinds)
    # Changed vectors leave their old rows behind, unreferenced: compacted as an index run does.
    compaction = [] if stop.is_set() or not tally.changed else compact_store(store, emit)
    if opts.build_index:
        for row, index in zip(rows, indexes, strict=True):
            if index is None or tally.new or tally.changed or removed:
                save_index(store, row.name, index)
    reports = []
    for row in rows:
        failed = tally.failed.get(row.name, 0)
        report = ModelReport(
            row.name,
            ["vector"],
            "source",
            tally.new + tally.changed - failed,
            failed,
            row.dim,
            None,
            "import",
        )
        report.source, report.seconds = info.location, round(time.monotonic() - started, 3)
        reports.append(report)
    summary = _summary(
        tally.done,
        tally.new + tally.changed - len(tally.failed_ids),
        tally.done - tally.new - tally.changed,
        len(removed),
        tally.errors,
        reports,
        stop.is_set(),
        store.dir,
        started,
    )
    return replace(summary, failed=len(tally.failed_ids), compaction=compaction)


def _commit(
    store: Store,
    rows: list[ModelRow],
    group: list[Batch],
    known: Known,
    indexes: list[VectorIndex | None],
    tally: _Tally,
    emit: Emit,
) -> None:
    """Validate and commit one batch of every column, and keep the indexes (when open) in step."""
    checks = [
        check(batch, row.dim, tally.seen if i == 0 else set(), tally.done)
        for i, (batch, row) in enumerate(zip(group, rows, strict=True))
    ]
    tally.kinds.update(checks[0].modalities)
    written, new, changed = commit_rows(store, rows, checks, known)
    for row, index, done in zip(rows, indexes, written, strict=True):
        if index is not None:
            if len(done.ids):
                index.add(done.ids, done.vectors)
            index.remove([fid for fid, _, _ in done.failed])
        for _, rid, reason in done.failed:
            tally.errors.append(FileError(rid, reason if len(rows) == 1 else f"{row.name}: {reason}"))
            tally.failed[row.name] = tally.failed.get(row.name, 0) + 1
            tally.failed_ids.add(rid)
            emit(ErrorEvent(row.name, rid, reason))
    tally.done += len(checks[0].ids)
    tally.new += new
    tally.changed += changed


def _progress(
    emit: Emit, name: str, done: int, failed: int, total: int | None, current: str, started: float
) -> None:
    elapsed = max(time.monotonic() - started, 1e-6)
    rate = done / elapsed
    eta = None if total is None or rate <= 0 else round((total - done) / rate, 1)
    emit(ProgressEvent(name, done, total or done, failed, current, round(rate, 2), eta))


def _summary(
    rows: int,
    imported: int,
    unchanged: int,
    removed: int,
    errors: list[FileError],
    models: list[ModelReport],
    interrupted: bool,
    store_dir: Path,
    started: float,
) -> IndexSummary:
    return IndexSummary(
        files=rows,
        embedded=imported,
        unchanged=unchanged,
        removed=removed,
        failed=len(errors),
        errors=errors,
        models=models,
        compaction=[],
        no_model_for=[],
        interrupted=interrupted,
        store=str(Path(store_dir).resolve()),
        seconds=round(time.monotonic() - started, 3),
    )
