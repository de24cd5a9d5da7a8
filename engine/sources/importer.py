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
from ..errors import UserError
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
from ..modality import MODALITIES
from ..store import ModelRow, Store
from .base import Batch, SourceInfo, VectorSource
from .validate import check
from .write import Known, commit_rows, remove_rows

STATE_FILE = "source.json"  # what was imported: the source's location, fingerprint, columns and model
DEFAULT_MODEL = "imported"


@dataclass(frozen=True)
class ImportOptions:
    model: str | None = None  # the name the vectors' model gets (default: the source's, else "imported")
    columns: tuple[tuple[str, str | None], ...] = ()  # the column choices, part of what makes a state current
    build_index: bool = True
    batch_rows: int = 65536


def state_of(info: SourceInfo, opts: ImportOptions) -> dict:
    """What the store records of an import: an import of the same state has nothing to read."""
    return {
        "location": _absolute(info.location),
        "kind": info.kind,
        "fingerprint": info.fingerprint,
        "columns": dict(opts.columns),
    }


def _absolute(location: str) -> str:
    """The location as the same source is named from any working folder (a URI is left as it is)."""
    if "://" in location:
        return location
    path, mark, table = location.partition("#")
    return (os.path.abspath(path) if os.path.exists(path) else path) + mark + table


def model_name(info: SourceInfo, opts: ImportOptions) -> str:
    return opts.model or info.model or DEFAULT_MODEL


def is_current(store_dir: Path, info: SourceInfo, opts: ImportOptions) -> bool:
    """Whether the store already holds exactly this source: nothing to read."""
    try:
        saved = json.loads((store_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if opts.model is not None and saved.pop("model", None) != opts.model:
        return False
    saved.pop("model", None)
    return saved == state_of(info, opts) and (store_dir / "catalog.sqlite").exists()


def import_source(
    source: VectorSource,
    root: Path,
    store_dir: Path,
    opts: ImportOptions,
    emit: Emit | None = None,
    stop: threading.Event | None = None,
) -> IndexSummary:
    """Bring the store at store_dir up to date with the source; returns the summary `index` gives."""
    emit = emit or (lambda event: None)
    stop = stop or threading.Event()
    started = time.monotonic()
    info = source.describe()
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
            summary = _bring_in(store, source, info, opts, emit, stop, started)
        if fresh:
            _move_into_place(target, store_dir)
            summary = replace(summary, store=str(store_dir.resolve()))
    except BaseException:
        if fresh:
            shutil.rmtree(target, ignore_errors=True)
        raise
    if not summary.interrupted:
        tmp = store_dir / f"{STATE_FILE}.tmp"
        state = state_of(info, opts) | {"model": summary.models[0].name if summary.models else None}
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, store_dir / STATE_FILE)
    emit(DoneEvent(summary))
    return summary


@dataclass
class _Tally:
    """What one pass over the source did."""

    seen: set[str] = field(default_factory=set)  # every id read
    kinds: set[str] = field(default_factory=set)  # the modalities of the rows
    errors: list[FileError] = field(default_factory=list)
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
    source: VectorSource,
    info: SourceInfo,
    opts: ImportOptions,
    emit: Emit,
    stop: threading.Event,
    started: float,
) -> IndexSummary:
    row, existed = _model_row(store, info, opts)
    repaired = store.repair_vectors(row)
    row = store.catalog.current(row.name)
    index = VectorIndex(store, row).open(persist=False) if existed and not repaired else None
    known = Known.read(store)
    emit(ModelEvent(row.name, info.rows or 0, row.dim, "import", source=info.location))
    tally = _Tally()
    for batch in source.batches(opts.batch_rows):
        _commit(store, row, batch, known, index, tally, emit)
        last = batch.ids[-1] if batch.ids else ""
        _progress(emit, row.name, tally.done, len(tally.errors), info.rows, last, started)
        if stop.is_set():
            break
    removed: list[int] = []
    if not stop.is_set():
        removed = [known.rows[key][0] for key in known.rows.keys() - tally.seen]
        remove_rows(store, removed)
        if index is not None:
            index.remove(removed)
    emit(PlanEvent(tally.new, tally.changed, len(removed), tally.done))
    _record_modalities(store, row, tally.kinds)
    # Changed vectors leave their old rows behind, unreferenced: compacted as an index run does.
    compaction = [] if stop.is_set() or not tally.changed else compact_store(store, emit)
    if opts.build_index and (index is None or tally.new or tally.changed or removed):
        _save_index(store, row.name, index)
    imported = tally.new + tally.changed - len(tally.errors)
    report = ModelReport(row.name, ["vector"], "source", imported, len(tally.errors), row.dim, None, "import")
    report.source, report.seconds = info.location, round(time.monotonic() - started, 3)
    unchanged = tally.done - tally.new - tally.changed
    summary = _summary(
        tally.done,
        imported,
        unchanged,
        len(removed),
        tally.errors,
        [report],
        stop.is_set(),
        store.dir,
        started,
    )
    return replace(summary, compaction=compaction)


def _model_row(store: Store, info: SourceInfo, opts: ImportOptions) -> tuple[ModelRow, bool]:
    """The model the vectors are stored under (recorded when new) and whether the store had it."""
    if info.dim is None or info.dim < 1:
        raise UserError(f"{info.location}: holds no vectors")
    held = store.models()
    name = opts.model or (held[0].name if len(held) == 1 else model_name(info, opts))
    existing = store.model(name)
    if existing is None and held:
        raise UserError(f"store {store.dir} holds the vectors of {held[0].name!r}: use another --store")
    if existing is not None and existing.dim != info.dim:
        raise UserError(
            f"{info.location}: vectors of dimension {info.dim}, the store's {name!r} has {existing.dim}"
        )
    row = store.ensure_model(
        name,
        "imported",
        "source",
        existing.modalities if existing is not None else ("vector",),
        info.dim,
        existing.text_queries if existing is not None else _text_queries(name, info.dim),
        {"device": "import", "source": info.location, "kind": info.kind},
    )
    return row, existing is not None


def _text_queries(name: str, dim: int) -> bool:
    """Whether a model vexplore knows by this name (an alias, a local path, a cached HF id; never the
    network) embeds text queries into a space of this width: then search, in the explorer too, needs
    no --model."""
    if name == DEFAULT_MODEL:
        return False
    from ..models import registry

    try:
        spec = registry.resolve(name)
    except (UserError, OSError, ValueError):
        return False
    return bool(spec.text_queries) and spec.dim in (None, dim)


def _commit(
    store: Store,
    row: ModelRow,
    batch: Batch,
    known: Known,
    index: VectorIndex | None,
    tally: _Tally,
    emit: Emit,
) -> None:
    """Validate and commit one batch, and keep the index (when one is open) in step."""
    c = check(batch, row.dim, tally.seen, tally.done)
    tally.kinds.update(c.modalities)
    written = commit_rows(store, row, c, known)
    if index is not None:
        if len(written.ids):
            index.add(written.ids, written.vectors)
        index.remove([fid for fid, _, _ in written.failed])
    for _, rid, reason in written.failed:
        tally.errors.append(FileError(rid, reason))
        emit(ErrorEvent(row.name, rid, reason))
    tally.done += len(c.ids)
    tally.new += written.new
    tally.changed += written.changed


def _record_modalities(store: Store, row: ModelRow, kinds: set[str]) -> None:
    """The model answers for every kind of row the source holds (files of --path-column included)."""
    order = ("vector", *MODALITIES)
    wanted = tuple(k for k in order if k in kinds | set(row.modalities)) or ("vector",)
    if wanted != row.modalities:
        store.catalog.add_model(
            row.name, row.family, row.backend, wanted, row.dim, row.text_queries, row.info
        )


def _save_index(store: Store, name: str, index: VectorIndex | None) -> None:
    """A first import builds the index from the stored vectors (tuned); an update saves the one it kept
    up to date, tuned again when enough of it is new."""
    row = store.catalog.current(name)
    if index is None:
        VectorIndex(store, row).open(persist=True)
        return
    if index.hnsw is not None:
        if index.tuning_stale():
            index.tune()
        index.save()


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
