"""Running `vexplore index --json` as a user does (a fresh process) and timing its phases from the moment
each JSON event arrives; plus the folders and the tiny model the indexing benchmarks share."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    wall: float  # spawn to exit, seconds
    cpu: float  # user + system seconds of the process (its threads and any worker processes it waited for)
    events: list[tuple[float, dict]]  # (seconds since spawn, event)
    summary: dict

    def at(self, kind: str) -> float | None:
        """When the first event of this kind arrived (seconds since spawn)."""
        return next((t for t, e in self.events if e.get("event") == kind), None)

    @property
    def load(self) -> float:
        """Seconds spent loading models (torch import + weights), as the engine measured them."""
        return sum(m.get("load_seconds", 0.0) for m in self.summary["models"])

    @property
    def embedded(self) -> int:
        return sum(m["embedded"] for m in self.summary["models"])

    @property
    def plan(self) -> dict:
        return next((e for _, e in self.events if e.get("event") == "plan"), {})


def vexplore_index(root: Path, model: str | None = None, *extra: str) -> Run:
    """`vexplore index ROOT --json [--model MODEL]` in a fresh process; raises if it fails."""
    cmd = [str(Path(sys.executable).with_name("vexplore")), "index", str(root), "--json", *extra]
    if model:
        cmd += ["--model", model]
    events: list[tuple[float, dict]] = []
    with tempfile.TemporaryFile("w+") as out:  # a file, not a pipe: a long summary cannot block the child
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        other = []
        for line in proc.stderr:
            try:
                events.append((time.perf_counter() - started, json.loads(line)))
            except ValueError:
                other.append(line)
        code = proc.wait()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        stdout = out.read()
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}: {''.join(other)[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Run(wall, cpu, events, json.loads(stdout.strip().splitlines()[-1]))


def tiny_model(base: Path) -> Path:
    """The tests' tiny random sentence-transformers model (one small BERT layer), saved once under base:
    the real text adapter loads it by path, quickly, so the benchmarks time the engine, not a model."""
    folder = base / "tiny-random-st"
    if not (folder / "modules.json").exists():
        sys.path.insert(0, str(REPO))
        from tests.stats_corpus import tiny_model as build

        build(base)
    return folder


def small_files(root: Path, n: int) -> Path:
    """n short text files (5-30 words) in folders of 1,000, written once and kept; returns root."""
    marker = root / ".complete"
    if not marker.exists():
        sys.path.insert(0, str(Path(__file__).parent))
        from corpus import make_docs

        make_docs(root, n, min_words=5, max_words=30, folders=max(1, n // 1000))
        marker.write_text(str(n))
    return root
