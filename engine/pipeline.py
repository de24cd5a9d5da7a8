"""Indexing, in one direction: scan → plan → decode → embed → store → index.

`index_folder` is what `vexplore index` runs and what the TUI starts as a child process. It reports
through `emit(event)` (the typed events of events.py) and stops cleanly after the current batch when
`stop` is set."""

from __future__ import annotations

import math
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .catalog import FileRow, ModelRow
from .compaction import compact_store
from .diskfull import is_disk_full
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
    ProgressEvent,
    ScanEvent,
)
from .heartbeat import Heartbeat
from .index import VectorIndex
from .local_stages import LocalStages
from .lock import WriterLock
from .models import registry
from .models.base import Adapter, ModelSpec
from .plan import open_index, plan, save_indexes
from .results import EmbeddedFile, FailedFile, FileResult
from .scan import scan
from .stages import Options, Stages
from .store import Store, placement_notice
from .transcripts import embed_transcripts


@dataclass
class Tally:
    embedded: set[int] = field(default_factory=set)
    failed: dict[int, tuple[str, str]] = field(default_factory=dict)  # file id -> (path, reason)
    models: list[ModelReport] = field(default_factory=list)
    adapters: dict[str, Adapter] = field(default_factory=dict)  # loaded in this process, by model name


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


def make_stages(opts: Options, beat: Heartbeat | None = None) -> Stages:
    """The runner of the decode → embed stages that opts.engine names."""
    if opts.engine == "ray":
        from .distributed import RayStages

        return RayStages(opts.ray_address)
    if opts.engine != "local":
        raise UserError(f"unknown engine {opts.engine!r}: use local or ray")
    return LocalStages(beat)


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
    lock = WriterLock(store_dir, math.inf if opts.wait else 0.0, lambda m: emit(NoticeEvent(m)), stop)
    if where := placement_notice(root, store_dir):
        emit(NoticeEvent(where))
    with lock, Store(root, store_dir, create=True) as store:
        files = [0]
        try:
            return _index_locked(root, store, store_dir, opts, emit, stop, started, files)
        except Exception as exc:
            if not is_disk_full(exc, store_dir):
                raise
            raise store.settle_disk_full(files[0], "indexing") from exc


def _index_locked(
    root: Path,
    store: Store,
    store_dir: Path,
    opts: Options,
    emit: Emit,
    stop: threading.Event,
    started: float,
    files: list[int],
) -> IndexSummary:
    """index_folder's run, under the writer lock; files[0] is set to the folder's file count for the
    disk-full report."""
    entries, skipped = scan(root, skip_dirs=(store_dir,))
    files[0] = len(entries)
    emit(ScanEvent(len(entries), len(skipped)))
    specs = choose_models(store, opts.models, {e.modality for e in entries})

    indexes, removed, new, changed = plan(root, store, entries, skipped, emit)

    tally = Tally()
    present = {e.modality for e in entries}
    with Heartbeat(emit) as beat, closing(make_stages(opts, beat)) as stages:
        for spec in specs:
            if stop.is_set():
                break
            tally.models.append(
                _index_model(root, store, spec, indexes, opts, emit, tally, stop, present, stages)
            )
            beat.idle()
        for spec in specs:  # after every model ran: this run's transcripts are stored by now
            if not stop.is_set():
                _index_transcripts(root, store, spec, indexes, opts, emit, tally, stop)
    # Vector files rid of the rows no file references any more; the indexes (by file id) stay valid.
    compaction = [] if stop.is_set() else compact_store(store, emit)
    save_indexes(indexes, removed, {m.name for m in tally.models if m.embedded or m.failed})

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
    index = open_index(store, row, indexes, emit)
    report.dim, report.device, report.source = row.dim, info["device"], adapter.location.describe()
    emit(ModelEvent.of(row.name, len(todo), row.dim, info))
    model_run = _ModelRun(root, store, adapter, row, index, opts, emit, tally, stop, stages)
    result = model_run.run(todo)
    report.batch_size = model_run.batch_size()
    if isinstance(stages, LocalStages) and stages.pool_batch is None:
        tally.adapters[spec.name] = adapter  # loaded here (not a --gpus run's cpu copy): transcripts reuse it
    report.embedded, report.failed, report.seconds = result["embedded"], result["failed"], result["seconds"]
    return report


def _index_transcripts(
    root: Path,
    store: Store,
    spec: ModelSpec,
    indexes: dict[str, VectorIndex],
    opts: Options,
    emit: Emit,
    tally: Tally,
    stop: threading.Event,
) -> None:
    """A text model embeds the stored transcripts of audio and video files it has not embedded yet
    (transcripts.py); loaded here unless this run loaded it already."""
    row = store.model(spec.name)
    if row is None or "text" not in row.modalities:
        return
    due = store.transcripts_due(row)
    if not due:
        return
    adapter = tally.adapters.get(spec.name)
    if adapter is None:
        adapter = registry.create(spec)
        adapter.requested_batch = opts.batch_size
        adapter.trust_remote_code = opts.trust_remote_code
        LocalStages().prepare(adapter, replace(opts, gpus=None), emit, row.dim)  # a few texts: one device
    index = open_index(store, row, indexes, emit)
    run = _ModelRun(root, store, adapter, row, index, opts, emit, tally, stop, LocalStages())
    done, failed = embed_transcripts(adapter, due, run._commit, stop.is_set)
    for report in tally.models:
        if report.name == spec.name:
            report.embedded, report.failed = report.embedded + done, report.failed + failed
