"""What an index run reports while it works, and the summary it ends with: one frozen class per event
kind. `vexplore index --json` writes each as a JSON line on stderr (`to_json`; the README documents the
lines), the TUI and the tests read them back (`from_json`), so writer and readers share one definition
and cannot drift apart. A line of a kind this version does not know becomes an `UnknownEvent`, never
an error: a reader must survive a newer engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Self

from .plain import plain, record


@dataclass(frozen=True)
class _Kind:
    """Shared by the known events: the JSON line is {"event": kind, then the fields in order}."""

    kind: ClassVar[str]

    def figures(self) -> dict[str, Any]:
        """The fields as plain JSON (also what the summary's compaction list holds)."""
        return record(self)

    def to_json(self) -> dict[str, Any]:
        return {"event": self.kind} | self.figures()

    @classmethod
    def from_figures(cls, data: Mapping[str, Any]) -> Self:
        """Raises KeyError or TypeError when a field the class needs is missing."""
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class ScanEvent(_Kind):
    kind = "scan"
    files: int
    skipped: int


@dataclass(frozen=True)
class PlanEvent(_Kind):
    kind = "plan"
    new: int
    changed: int
    removed: int
    hashed: int  # files read and hashed: only new and changed ones (size or mtime moved)


@dataclass(frozen=True)
class LoadEvent(_Kind):
    kind = "load"
    model: str
    source: str
    device: str


@dataclass(frozen=True)
class ModelEvent(_Kind):
    """A model is loaded and about to embed `todo` files; the device facts its runner reported."""

    kind = "model"
    model: str
    todo: int
    dim: int
    device: str
    gpu: str | None = None  # CUDA only, like the two figures after it
    gpu_mem_used_mb: int | None = None
    gpu_mem_total_mb: int | None = None
    engine: str | None = None  # Ray only, like the three fields after it
    actors: int | None = None
    actor_device: str | None = None
    ray: str | None = None
    source: str = ""
    OPTIONAL: ClassVar[frozenset[str]] = frozenset(
        {"gpu", "gpu_mem_used_mb", "gpu_mem_total_mb", "engine", "actors", "actor_device", "ray"}
    )

    @classmethod
    def of(cls, model: str, todo: int, dim: int, info: Mapping[str, Any]) -> ModelEvent:
        """From the device facts a Stages.prepare returns (keys this class does not name are left out)."""
        names = {f.name for f in fields(cls)} - {"model", "todo", "dim"}
        return cls(model=model, todo=todo, dim=dim, **{k: v for k, v in info.items() if k in names})

    def figures(self) -> dict[str, Any]:
        """Facts a device does not have are left out of the line, not written as null."""
        return {k: v for k, v in record(self).items() if v is not None or k not in self.OPTIONAL}


@dataclass(frozen=True)
class ProgressEvent(_Kind):
    kind = "progress"
    model: str
    done: int  # files finished, failed ones included
    total: int
    failed: int
    current: str
    rate: float  # files per second
    eta: float | None  # seconds; None until a rate is known
    batch_size: int | None = None  # parts per model call now (it grows and backs off); older engines: None


@dataclass(frozen=True)
class ErrorEvent(_Kind):
    kind = "error"
    model: str
    path: str
    reason: str


@dataclass(frozen=True)
class NoticeEvent(_Kind):
    kind = "notice"
    message: str


@dataclass(frozen=True)
class StallEvent(_Kind):
    """The run has held one file (decoding it, or embedding its batch) for `seconds` without a commit:
    sent again every stall interval while it lasts, so a watcher can tell a hang from a slow file."""

    kind = "stall"
    model: str
    path: str
    seconds: float


@dataclass(frozen=True)
class Compacted(_Kind):
    """A model's vector file rewritten with its live rows (also an entry of the summary's compaction)."""

    kind = "compacted"
    model: str
    rows_before: int
    rows_after: int
    file: str
    seconds: float


@dataclass(frozen=True)
class CompactionSkipped(_Kind):
    """A compaction that was due but left for a later run (why: `skipped`)."""

    kind = "compaction_skipped"
    model: str
    rows: int
    unreferenced: int
    skipped: str


@dataclass(frozen=True)
class FileError:
    """A file that could not be embedded (or was skipped by the scan), and why."""

    path: str
    reason: str


@dataclass
class ModelReport:
    """One model's part of a run. Filled in as the run goes: figures it never reached stay None and are
    left out of the JSON (a model with no file to embed has no device, no load time)."""

    name: str
    modalities: list[str]
    backend: str
    embedded: int = 0
    failed: int = 0
    dim: int | None = None
    load_seconds: float | None = None  # torch import + weights, apart from the embedding's seconds
    device: str | None = None
    source: str | None = None
    seconds: float | None = None
    batch_size: int | None = None  # parts per model call at the end of the run (batching.py)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in record(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelReport:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class IndexSummary:
    """What `index_folder` returns, `done` carries and `vexplore index --json` prints last on stdout."""

    files: int
    embedded: int
    unchanged: int
    removed: int
    failed: int
    errors: list[FileError]
    models: list[ModelReport]
    compaction: list[Compacted | CompactionSkipped]
    no_model_for: list[str]
    interrupted: bool
    store: str
    seconds: float

    def counts(self) -> str:
        """`E embedded, U unchanged, R removed, F failed in S.Ss`: the run in one phrase, for people."""
        return (
            f"{self.embedded} embedded, {self.unchanged} unchanged, "
            f"{self.removed} removed, {self.failed} failed in {self.seconds:.1f}s"
        )

    def line(self) -> str:
        """`N files: ` and the counts: the line `vexplore index` ends with."""
        return f"{self.files} files: {self.counts()}"

    def to_json(self) -> dict[str, Any]:
        out = record(self)
        out["compaction"] = [c.figures() for c in self.compaction]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IndexSummary:
        """Raises KeyError or TypeError on a summary that lacks a field."""
        compaction: list[Compacted | CompactionSkipped] = [
            CompactionSkipped.from_figures(c) if "skipped" in c else Compacted.from_figures(c)
            for c in data["compaction"]
        ]
        return cls(
            **{f.name: data[f.name] for f in fields(cls) if f.name not in ("errors", "models", "compaction")},
            errors=[FileError(e["path"], e["reason"]) for e in data["errors"]],
            models=[ModelReport.from_json(m) for m in data["models"]],
            compaction=compaction,
        )


@dataclass(frozen=True)
class DoneEvent(_Kind):
    kind = "done"
    summary: IndexSummary

    @classmethod
    def from_figures(cls, data: Mapping[str, Any]) -> DoneEvent:
        return cls(IndexSummary.from_json(data["summary"]))


@dataclass(frozen=True)
class UnknownEvent:
    """A line that names an event this version does not know (or cannot read): kept as it came."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.data)


Event = (
    ScanEvent
    | PlanEvent
    | LoadEvent
    | ModelEvent
    | ProgressEvent
    | ErrorEvent
    | NoticeEvent
    | StallEvent
    | Compacted
    | CompactionSkipped
    | DoneEvent
    | UnknownEvent
)
Emit = Callable[[Event], None]
_READERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    ScanEvent.kind: ScanEvent.from_figures,
    PlanEvent.kind: PlanEvent.from_figures,
    LoadEvent.kind: LoadEvent.from_figures,
    ModelEvent.kind: ModelEvent.from_figures,
    ProgressEvent.kind: ProgressEvent.from_figures,
    ErrorEvent.kind: ErrorEvent.from_figures,
    NoticeEvent.kind: NoticeEvent.from_figures,
    StallEvent.kind: StallEvent.from_figures,
    Compacted.kind: Compacted.from_figures,
    CompactionSkipped.kind: CompactionSkipped.from_figures,
    DoneEvent.kind: DoneEvent.from_figures,
}
KINDS = frozenset(_READERS)


def to_line(event: Event) -> str:
    """The event as one JSON line (no newline), non-ASCII kept as is."""
    return json.dumps(plain(event), ensure_ascii=False)


def from_json(line: str | bytes | Mapping[str, Any]) -> Event | None:
    """The event a JSON line (or its parsed dict) holds; None when it is no event at all (a warning, a
    traceback line), an UnknownEvent when its kind is unknown or its fields do not fit the kind."""
    data: Any = line
    if isinstance(line, str | bytes):
        try:
            data = json.loads(line)
        except ValueError:
            return None
    if not isinstance(data, Mapping) or not isinstance(data.get("event"), str):
        return None
    read = _READERS.get(data["event"])
    if read is None:
        return UnknownEvent(data["event"], dict(data))
    try:
        return read(data)
    except (KeyError, TypeError, AttributeError):
        return UnknownEvent(data["event"], dict(data))
