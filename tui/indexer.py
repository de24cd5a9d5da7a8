"""Indexing from the UI: `vexplore index PATH --json` as a child process (design: the engine runs as a
process, so model code can neither freeze nor crash the UI). Its JSON-lines events on stderr become the
state the progress panel draws; cancelling sends SIGINT, and the engine commits the batch in hand and
stops (a second cancel stops it at once)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vexplore.engine.events import (
    DoneEvent,
    ErrorEvent,
    Event,
    IndexSummary,
    LoadEvent,
    ModelEvent,
    NoticeEvent,
    PlanEvent,
    ProgressEvent,
    ScanEvent,
    StallEvent,
    from_json,
)
from vexplore.engine.heartbeat import hang_seconds

EXIT_DISK_FULL = 75  # vexplore/exits.py's status for a full disk (the UI does not import the CLI)


@dataclass
class ModelProgress:
    name: str
    device: str = ""
    source: str = ""
    gpu: str | None = None  # "used / total MiB on NAME" on CUDA
    todo: int = 0
    done: int = 0
    failed: int = 0
    rate: float = 0.0
    eta: float | None = None
    current: str = ""
    state: str = "loading"  # loading | embedding | done
    batch_size: int | None = None  # parts per model call now (engines that report it)


@dataclass
class RunState:
    """What the child said so far."""

    phase: str = "starting"  # starting | scanning | embedding | stopping | done | cancelled | failed
    message: str = "starting the indexer…"
    files: int | None = None
    plan: PlanEvent | None = None
    models: dict[str, ModelProgress] = field(default_factory=dict)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (path, model, reason)
    notices: list[str] = field(default_factory=list)
    summary: IndexSummary | None = None
    started: float = field(default_factory=time.monotonic)
    alert: str | None = None  # a notification the app shows once (a full disk, a hang), then clears
    stall: str | None = None  # the file in hand when the child last reported a stall

    @property
    def active(self) -> bool:
        return self.phase in ("starting", "scanning", "embedding", "stopping")

    def apply(self, event: Event) -> None:
        """Fold one engine event into the state (the event types: engine/events.py)."""
        if isinstance(event, ScanEvent):
            self.files = event.files
            self.phase, self.message = "scanning", f"found {self.files} files"
        elif isinstance(event, PlanEvent):
            self.plan = event
            self.message = (
                f"{self.files} files: {event.new} new, {event.changed} changed, {event.removed} removed"
            )
        elif isinstance(event, LoadEvent):
            self.models[event.model] = ModelProgress(event.model, device=event.device, source=event.source)
            self.phase = "embedding" if self.phase != "stopping" else self.phase
            self.message = f"loading {event.model} on {event.device}…"
        elif isinstance(event, ModelEvent):
            m = self.models.setdefault(event.model, ModelProgress(event.model))
            m.todo, m.state, m.device = event.todo, "embedding", event.device
            if event.gpu_mem_total_mb:
                m.gpu = f"{event.gpu_mem_used_mb}/{event.gpu_mem_total_mb} MiB on {event.gpu or 'GPU'}"
            if self.phase != "stopping":
                self.message = f"embedding with {m.name}"
        elif isinstance(event, ProgressEvent):
            m = self.models.setdefault(event.model, ModelProgress(event.model))
            m.done, m.todo, m.failed, m.rate = event.done, event.total, event.failed, event.rate
            m.eta, m.current, m.state = event.eta, event.current, "embedding"
            m.batch_size = event.batch_size or m.batch_size
            if m.done >= m.todo:
                m.state = "done"
        elif isinstance(event, ErrorEvent):
            self.errors.append((event.path, event.model, event.reason))
        elif isinstance(event, NoticeEvent):
            self.notices.append(event.message)
        elif isinstance(event, StallEvent):
            self.stall = event.path
            self.message = f"{event.model}: no progress for {event.seconds:.0f}s on {event.path}"
        elif isinstance(event, DoneEvent):
            self._done(event.summary)

    def _done(self, s: IndexSummary) -> None:
        self.summary = s
        for m in self.models.values():
            m.state = "done"
        self.phase = "cancelled" if s.interrupted else "done"
        self.message = (
            "cancelled — batches done so far are kept; index again to finish: " if s.interrupted else "done: "
        ) + s.counts()
        if s.no_model_for:
            self.message += f" · no model for {', '.join(s.no_model_for)}"


def index_command(root: Path, store_dir: Path, models: list[str], extra: tuple[str, ...] = ()) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "vexplore",
        "index",
        str(root),
        "--json",
        "--store",
        str(store_dir),
    ]
    for name in models:
        cmd += ["--model", name]
    return cmd + list(extra)


class IndexRun:
    """One child indexing process and its state."""

    def __init__(
        self,
        root: Path,
        store_dir: Path,
        models: list[str],
        on_change: Callable[[RunState], None],
        extra: tuple[str, ...] = (),
        hang_after: float | None = None,
    ):
        self.root, self.store_dir, self.models, self.extra = root, store_dir, models, extra
        self.hang_after = hang_after or hang_seconds()
        self.state = RunState()
        self.on_change = on_change
        self.proc: asyncio.subprocess.Process | None = None
        self._tail: list[str] = []  # the last lines that were not events (a traceback, a one-line error)

    async def run(self) -> RunState:
        """Run the child; one that hangs (hang_after without progress) is killed and started once more,
        with a notice; a second hang ends the run, naming the file in hand."""
        for attempt in (1, 2):
            stalled = await self._run_once()
            if stalled is None:
                break
            what = f"the indexer made no progress for {self.hang_after:.0f}s on {stalled}"
            if attempt == 1:
                self.state.notices.append(f"{what}; stopped it and started it again")
                self.state.alert = self.state.notices[-1]
                self.state.phase, self.state.message = "starting", "restarting the indexer…"
                self.on_change(self.state)
            else:
                self.state.phase = "failed"
                self.state.message = f"{what} twice; stopped it (committed batches are kept)"
                self.state.alert = self.state.message
        self.on_change(self.state)
        return self.state

    async def _run_once(self) -> str | None:
        """One child, to its end; the file it hung on (it was killed), else None."""
        env = dict(
            os.environ, PYTHONUNBUFFERED="1", HF_HUB_DISABLE_PROGRESS_BARS="1", TOKENIZERS_PARALLELISM="false"
        )
        try:
            self.proc = proc = await asyncio.create_subprocess_exec(
                *index_command(self.root, self.store_dir, self.models, self.extra),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # the terminal's signals are the UI's, not the indexer's
                env=env,
                limit=1 << 22,
            )
        except OSError as exc:
            self.state.phase, self.state.message = "failed", f"cannot start the indexer: {exc}"
            return None
        self.on_change(self.state)
        assert proc.stdout is not None and proc.stderr is not None  # both are pipes (above)
        stdout = asyncio.ensure_future(proc.stdout.read())
        stalled = await self._read_events(proc.stderr)
        if stalled is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its decode workers too: they share its session
        code = await proc.wait()
        await stdout
        if stalled is None and self.state.summary is None:
            self._ended(code)
        return stalled

    async def _read_events(self, stderr: asyncio.StreamReader) -> str | None:
        """Fold the child's events into the state until it closes stderr; the file in hand when it hung:
        a stall event past hang_after, or, once embedding, no line at all for that long (a child frozen
        so hard that its heartbeat cannot speak)."""
        while True:
            try:
                raw = await asyncio.wait_for(stderr.readline(), self.hang_after)
            except TimeoutError:
                states = {m.state for m in self.state.models.values()}
                if "embedding" in states and "loading" not in states:  # a model load may be a download
                    return self.state.stall or "an unknown file"
                continue
            if not raw:
                return None
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            event = from_json(line)
            if event is not None:
                self.state.apply(event)
                self.on_change(self.state)
                if isinstance(event, StallEvent) and event.seconds >= self.hang_after:
                    return event.path
            elif line.strip():
                self._tail = (self._tail + [line])[-20:]

    def _ended(self, code: int) -> None:
        self.state.phase = "cancelled" if code in (130, -signal.SIGINT) else "failed"
        last = next((t for t in reversed(self._tail) if t.strip()), f"exit status {code}")
        self.state.message = (
            "cancelled — batches done so far are kept"
            if self.state.phase == "cancelled"
            else f"indexing failed: {last.strip()}"
        )
        if code == EXIT_DISK_FULL:  # the child's one line says what is kept and how much room to make
            self.state.message = last.strip().removeprefix("vexplore: error: ")
            self.state.alert = self.state.message

    def cancel(self) -> None:
        """First call: stop after the current batch. Second call: stop now."""
        if self.proc is None or self.proc.returncode is not None:
            return
        if self.state.phase == "stopping":
            self.state.message = "stopping now…"
        else:
            self.state.phase, self.state.message = "stopping", "stopping after the current batch…"
        self.proc.send_signal(signal.SIGINT)
        self.on_change(self.state)

    async def stop(self, wait: float = 5.0) -> None:
        """Cancel and give the child a moment to commit (the app is quitting)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.cancel()
        try:
            await asyncio.wait_for(self.proc.wait(), wait)
        except TimeoutError:
            self.proc.send_signal(signal.SIGINT)
