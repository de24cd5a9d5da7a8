"""Indexing from the UI: `vexplore index PATH --json` as a child process (design: the engine runs as a
process, so model code can neither freeze nor crash the UI). Its JSON-lines events on stderr become the
state the progress panel draws; cancelling sends SIGINT, and the engine commits the batch in hand and
stops (a second cancel stops it at once)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


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


@dataclass
class RunState:
    """What the child said so far."""

    phase: str = "starting"  # starting | scanning | embedding | stopping | done | cancelled | failed
    message: str = "starting the indexer…"
    files: int | None = None
    plan: dict | None = None
    models: dict[str, ModelProgress] = field(default_factory=dict)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (path, model, reason)
    notices: list[str] = field(default_factory=list)
    summary: dict | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def active(self) -> bool:
        return self.phase in ("starting", "scanning", "embedding", "stopping")

    def apply(self, event: dict) -> None:
        """Fold one engine event into the state (event types: design.md / engine/pipeline.py)."""
        kind = event.get("event")
        if kind == "scan":
            self.files = event.get("files", 0)
            self.phase, self.message = "scanning", f"found {self.files} files"
        elif kind == "plan":
            self.plan = event
            self.message = (
                f"{self.files} files: {event.get('new', 0)} new, {event.get('changed', 0)} changed, "
                f"{event.get('removed', 0)} removed"
            )
        elif kind == "load":
            name = event.get("model", "?")
            self.models[name] = ModelProgress(
                name, device=event.get("device", ""), source=event.get("source", "")
            )
            self.phase = "embedding" if self.phase != "stopping" else self.phase
            self.message = f"loading {name} on {event.get('device', '?')}…"
        elif kind == "model":
            m = self.models.setdefault(event.get("model", "?"), ModelProgress(event.get("model", "?")))
            m.todo, m.state = int(event.get("todo", 0)), "embedding"
            m.device = event.get("device", m.device)
            if event.get("gpu_mem_total_mb"):
                m.gpu = f"{event.get('gpu_mem_used_mb')}/{event['gpu_mem_total_mb']} MiB on {event.get('gpu', 'GPU')}"
            if self.phase != "stopping":
                self.message = f"embedding with {m.name}"
        elif kind == "progress":
            m = self.models.setdefault(event.get("model", "?"), ModelProgress(event.get("model", "?")))
            m.done, m.todo = int(event.get("done", 0)), int(event.get("total", m.todo))
            m.failed, m.rate = int(event.get("failed", 0)), float(event.get("rate") or 0.0)
            m.eta, m.current, m.state = event.get("eta"), event.get("current", ""), "embedding"
            if m.done >= m.todo:
                m.state = "done"
        elif kind == "error":
            self.errors.append((event.get("path", "?"), event.get("model", "?"), event.get("reason", "?")))
        elif kind == "notice":
            self.notices.append(str(event.get("message", "")))
        elif kind == "done":
            self.summary = event.get("summary") or {}
            for m in self.models.values():
                m.state = "done"
            s = self.summary
            interrupted = s.get("interrupted")
            self.phase = "cancelled" if interrupted else "done"
            line = (
                f"{s.get('embedded', 0)} embedded, {s.get('unchanged', 0)} unchanged, "
                f"{s.get('removed', 0)} removed, {s.get('failed', 0)} failed in {s.get('seconds', 0):.1f} s"
            )
            self.message = (
                "cancelled — batches done so far are kept; index again to finish: "
                if interrupted
                else "done: "
            ) + line
            if s.get("no_model_for"):
                self.message += f" · no model for {', '.join(s['no_model_for'])}"


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
    ):
        self.root, self.store_dir, self.models, self.extra = root, store_dir, models, extra
        self.state = RunState()
        self.on_change = on_change
        self.proc: asyncio.subprocess.Process | None = None
        self._tail: list[str] = []  # the last lines that were not events (a traceback, a one-line error)

    async def run(self) -> RunState:
        env = dict(
            os.environ, PYTHONUNBUFFERED="1", HF_HUB_DISABLE_PROGRESS_BARS="1", TOKENIZERS_PARALLELISM="false"
        )
        try:
            self.proc = await asyncio.create_subprocess_exec(
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
            self.on_change(self.state)
            return self.state
        self.on_change(self.state)
        stdout = asyncio.ensure_future(self.proc.stdout.read())  # type: ignore[union-attr]
        async for raw in self.proc.stderr:  # type: ignore[union-attr]
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if isinstance(event, dict) and "event" in event:
                self.state.apply(event)
                self.on_change(self.state)
            elif line.strip():
                self._tail = (self._tail + [line])[-20:]
        code = await self.proc.wait()
        await stdout
        if self.state.summary is None:
            self.state.phase = "cancelled" if code in (130, -signal.SIGINT) else "failed"
            last = next((t for t in reversed(self._tail) if t.strip()), f"exit status {code}")
            self.state.message = (
                "cancelled — batches done so far are kept"
                if self.state.phase == "cancelled"
                else f"indexing failed: {last.strip()}"
            )
        self.on_change(self.state)
        return self.state

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
