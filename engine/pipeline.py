"""Indexing, in one direction: scan → plan → decode → embed → store → index.

`index_folder` is what `vexplore index` runs and what the TUI starts as a child process. It reports
through `emit(event)` (the typed events of events.py) and stops cleanly after the current batch when
`stop` is set."""

from __future__ import annotations

import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .catalog import FileRow, ModelRow
from .compaction import compact_store
from .errors import UserError
from .events import (
    DoneEvent,
    Emit,
    ErrorEvent,
    FileError,
    IndexSummary,
    ModelEvent,
    ModelReport,
    NoticeEvent,
    PlanEvent,
    ProgressEvent,
    ScanEvent,
)
from .index import VectorIndex
from .loader import file_path
from .local_stages import LocalStages
from .lock import WriterLock
from .models import registry
from .models.base import Adapter, ModelSpec
from .results import EmbeddedFile, FailedFile, FileResult
from .scan import Entry, Skipped, content_hash, scan
from .stages import Options, Stages
from .store import Store


@dataclass
class Tally:
    embedded: set[int] = field(default_factory=set)
    failed: dict[int, tuple[str, str]] = field(default_factory=dict)  # file id -> (path, reason)
    models: list[ModelReport] = field(default_factory=list)


def choose_models(store: Store, requested: list[str], modalities: set[str]) -> list[ModelSpec]:
    """Explicit models, else every model the store already has plus a default for each uncovered modality."""
    if requested:
        specs = [registry.resolve(name) for name in requested]
    else:
        specs = [registry.resolve(m.name) for m in store.models()]
        covered = {mod for spec in specs for mod in spec.modalities}
        # Text first, so a CLIP chosen for images never displaces the text default for text files;
        # images before video, so the image model (which also embeds video frames) covers video.
        for modality in ("text", "image", "audio", "video"):
            if modality not in modalities or modality in covered:
                continue
            spec = registry.default_for(modality)
            if spec is not None and spec.name not in {s.name for s in specs}:
                specs.append(spec)
                covered.update(spec.modalities)
    unique: dict[str, ModelSpec] = {}
    for spec in specs:
        unique.setdefault(spec.name, spec)
    return list(unique.values())


class _ModelRun:
    """Commits the results of one model's stages batch by batch (the store is written only here)."""

    def __init__(
        self,
        root: Path,
        store: Store,
        adapter: Adapter,
        row: ModelRow,
        index: VectorIndex,
        opts: Options,
        emit: Emit,
        tally: Tally,
        stop: threading.Event,
        stages: Stages,
    ):
        self.root, self.store, self.adapter, self.row, self.index = root, store, adapter, row, index
        self.opts, self.emit, self.tally, self.stop, self.stages = opts, emit, tally, stop, stages

    def run(self, todo: list[FileRow]) -> dict:
        started = time.monotonic()
        done = failed = 0
        with closing(self.stages.batches(self.adapter, self.root, todo, self.opts)) as batches:
            for results in batches:
                n_ok, n_bad = self._commit(results)
                done, failed = done + n_ok, failed + n_bad
                self._progress(done, failed, len(todo), started, results[-1].file.path if results else "")
                if self.stop.is_set():
                    break
        return {"embedded": done, "failed": failed, "seconds": round(time.monotonic() - started, 3)}

    def _commit(self, results: list[FileResult[FileRow]]) -> tuple[int, int]:
        self.row = self.store.commit_batch(self.row, results)
        ok = [r for r in results if isinstance(r, EmbeddedFile)]
        if ok:
            self.index.add(np.array([r.file.id for r in ok]), np.stack([r.vector for r in ok]))
        failed_ids = [r.file.id for r in results if isinstance(r, FailedFile)]
        if failed_ids:
            self.index.remove(failed_ids)  # a file that used to embed and now fails leaves the index
        for r in results:
            f = r.file
            if isinstance(r, FailedFile):
                self.tally.failed[f.id] = (f.path, r.reason)
                self.emit(ErrorEvent(self.row.name, f.path, r.reason))
            else:
                self.tally.embedded.add(f.id)
        return len(ok), len(results) - len(ok)

    def _progress(self, done: int, failed: int, total: int, started: float, current: str) -> None:
        elapsed = max(time.monotonic() - started, 1e-6)
        rate = (done + failed) / elapsed
        eta = (total - done - failed) / rate if rate > 0 else None
        eta_s = None if eta is None else round(eta, 1)
        batch = self.batch_size()
        self.emit(
            ProgressEvent(self.row.name, done + failed, total, failed, current, round(rate, 2), eta_s, batch)
        )

    def batch_size(self) -> int | None:
        """The batch size the stages use now (None for stages that do not say, e.g. Ray's)."""
        used = getattr(self.stages, "batch_size", None)
        return used(self.adapter) if callable(used) else None


def make_stages(opts: Options) -> Stages:
    """The runner of the decode → embed stages that opts.engine names."""
    if opts.engine == "ray":
        from .distributed import RayStages

        return RayStages(opts.ray_address)
    if opts.engine != "local":
        raise UserError(f"unknown engine {opts.engine!r}: use local or ray")
    return LocalStages()


def index_folder(
    root: Path, store_dir: Path, opts: Options, emit: Emit | None = None, stop: threading.Event | None = None
) -> IndexSummary:
    """Bring the store of root up to date with the folder and the chosen models; returns the summary."""
    emit = emit or (lambda event: None)
    stop = stop or threading.Event()
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: not a folder" if root.exists() else f"{root}: no such folder")
    started = time.monotonic()
    with WriterLock(store_dir), Store(root, store_dir, create=True) as store:
        entries, skipped = scan(root, skip_dirs=(store_dir,))
        emit(ScanEvent(len(entries), len(skipped)))
        specs = choose_models(store, opts.models, {e.modality for e in entries})

        indexes, removed, new, changed = _plan(root, store, entries, skipped, emit)

        tally = Tally()
        present = {e.modality for e in entries}
        with closing(make_stages(opts)) as stages:
            for spec in specs:
                if stop.is_set():
                    break
                tally.models.append(
                    _index_model(root, store, spec, indexes, opts, emit, tally, stop, present, stages)
                )
        # Vector files rid of the rows no file references any more; the indexes (by file id) stay valid.
        compaction = [] if stop.is_set() else compact_store(store, emit)
        _save_indexes(indexes, removed, tally)

        covered = {mod for spec in specs for mod in spec.modalities}
        no_model = sorted(present - covered)
        failed = [FileError(p, r) for p, r in tally.failed.values()]
        failed += [FileError(s.path, s.reason) for s in skipped]
        summary = IndexSummary(
            files=len(entries),
            embedded=len(tally.embedded - set(tally.failed)),
            unchanged=len(entries) - new - changed,
            removed=len(removed),
            failed=len(failed),
            errors=failed,
            models=tally.models,
            compaction=compaction,
            no_model_for=no_model,
            interrupted=stop.is_set(),
            store=str(Path(store_dir).resolve()),
            seconds=round(time.monotonic() - started, 3),
        )
        emit(DoneEvent(summary))
        return summary


class Plan(NamedTuple):
    indexes: dict[str, VectorIndex]  # the indexes this run changes or mends, by model name
    removed: list[int]  # ids of the files gone from the folder
    new: int
    changed: int


def _plan(root: Path, store: Store, entries: list[Entry], skipped: list[Skipped], emit: Emit) -> Plan:
    """Bring the catalog in line with the scan: vector files repaired, the indexes that must change
    opened, new and changed files hashed, file rows inserted, updated and deleted."""
    known = store.fingerprints()
    seen = {e.path for e in entries}
    gone = [p for p in known if p not in seen]
    indexes = _open_indexes(store, bool(gone), emit)
    hashes = _hash_changed(root, entries, known)
    keep = [s.path for s in skipped if s.keep]
    removed, new, changed = store.sync_files(entries, hashes, keep=keep) if hashes or gone else ([], 0, 0)
    for index in indexes.values():
        index.remove(removed)
    emit(PlanEvent(new, changed, len(removed), len(hashes)))
    return Plan(indexes, removed, new, changed)


def _open_indexes(store: Store, gone: bool, emit: Emit) -> dict[str, VectorIndex]:
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
            _open_index(store, row, indexes, emit)
    return indexes


def _hash_changed(
    root: Path, entries: list[Entry], known: dict[str, tuple[int, int]]
) -> dict[str, str | None]:
    """Content hashes of the new and changed files (only those are read); None: unreadable, the decode
    step records why."""
    hashes: dict[str, str | None] = {}
    for e in entries:
        old = known.get(e.path)
        if old != (e.size, e.mtime_ns):  # only new and changed files are read and hashed
            try:
                hashes[e.path] = content_hash(file_path(root, _as_file_row(e)), e.size)
            except OSError:
                hashes[e.path] = None  # unreadable: the decode step records why
    return hashes


def _save_indexes(indexes: dict[str, VectorIndex], removed: list[int], tally: Tally) -> None:
    """Save the indexes that changed (tuned first when enough of them is new)."""
    for name, index in indexes.items():
        if index.hnsw is not None and (
            index.rebuilt or removed or any(m.name == name and (m.embedded or m.failed) for m in tally.models)
        ):
            if index.tuning_stale():  # also a first index: built empty, then filled
                index.tune()
            index.save()


def _open_index(store: Store, row: ModelRow, indexes: dict[str, VectorIndex], emit: Emit) -> VectorIndex:
    if row.name not in indexes:
        indexes[row.name] = VectorIndex(store, row).open(persist=False)
        if notice := indexes[row.name].notice:
            emit(NoticeEvent(notice))
    return indexes[row.name]


def _as_file_row(e: Entry) -> FileRow:
    return FileRow(-1, e.path, e.raw, e.modality, e.size, e.mtime_ns, None, {})


def _index_model(
    root: Path,
    store: Store,
    spec: ModelSpec,
    indexes: dict[str, VectorIndex],
    opts: Options,
    emit: Emit,
    tally: Tally,
    stop: threading.Event,
    present: set[str],
    stages: Stages,
) -> ModelReport:
    row = store.model(spec.name)
    report = ModelReport(spec.name, list(spec.modalities), spec.backend)
    if row is not None:
        todo = store.stale(row)
        report.dim = row.dim
    else:
        todo = None  # unknown until the model has told us its dim
    if todo == [] or (todo is None and not (present & set(spec.modalities))):
        return report
    adapter = registry.create(spec)
    # A missing decoder fails the run here, once, before the model loads: not once per file.
    adapter.check_decoders({f.modality for f in todo} if todo is not None else present & set(spec.modalities))
    adapter.requested_batch = opts.batch_size
    adapter.trust_remote_code = opts.trust_remote_code
    loading = time.monotonic()
    info = stages.prepare(adapter, opts, emit, row.dim if row is not None else None)
    report.load_seconds = round(time.monotonic() - loading, 3)  # torch import + weights: apart from the work
    row = store.ensure_model(
        spec.name, spec.family, spec.backend, spec.modalities, adapter.dim, spec.text_queries, info
    )
    todo = store.stale(row) if todo is None else todo
    if adapter.order_by_size:
        todo.sort(key=lambda f: f.size)  # similar lengths batch together: less padding
    index = _open_index(store, row, indexes, emit)
    report.dim, report.device, report.source = row.dim, info["device"], adapter.location.describe()
    emit(ModelEvent.of(row.name, len(todo), row.dim, info))
    model_run = _ModelRun(root, store, adapter, row, index, opts, emit, tally, stop, stages)
    result = model_run.run(todo)
    report.batch_size = model_run.batch_size()
    report.embedded, report.failed, report.seconds = result["embedded"], result["failed"], result["seconds"]
    return report
