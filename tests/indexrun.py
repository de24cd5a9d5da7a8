"""Running `vexplore index --json` as a real child process and reading its JSON-lines events as they
arrive on stderr, the way the TUI does; plus a reader's-eye check that a store is consistent."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.clirun import child_env
from vexplore.engine.events import Event, IndexSummary, from_json
from vexplore.engine.store import Store

EVENT_TIMEOUT = 120.0  # seconds without any event before a run counts as hung


class IndexRun:
    """One `vexplore index PATH --store STORE --json ...` child; events are queued by a reader thread."""

    def __init__(self, root: Path, store: Path, *extra: str, env: dict | None = None, **popen):
        cmd = [
            sys.executable,
            "-m",
            "vexplore",
            "index",
            str(root),
            "--store",
            str(store),
            "--json",
            *extra,
        ]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or child_env(), **popen
        )
        self.events: list[Event] = []
        self.times: list[float] = []  # time.monotonic() when each event arrived
        self.noise: list[str] = []  # stderr lines that are not events (warnings, a traceback)
        self._queue: queue.Queue = queue.Queue()
        self._stdout: list[bytes] = []
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=lambda: self._stdout.append(self.proc.stdout.read()), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", errors="replace")
            event = from_json(line)
            if event is not None:
                self._queue.put((time.monotonic(), event))
            else:
                self.noise.append(line)
        self._queue.put(None)

    def next_event(self, timeout: float = EVENT_TIMEOUT) -> Event | None:
        """The next event, or None once stderr is closed (the run ended)."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(
                f"no event for {timeout}s; stderr so far: {''.join(self.noise)[-2000:]}"
            ) from None
        if item is None:
            self._queue.put(None)  # stay at the end for later calls
            return None
        self.times.append(item[0])
        self.events.append(item[1])
        return item[1]

    def wait_for(self, predicate: Callable[[Event], bool]) -> Event | None:
        """The first event that matches, or None if the run ended first."""
        while (event := self.next_event()) is not None:
            if predicate(event):
                return event
        return None

    def signal(self, signum: int) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)

    def finish(self, timeout: float = 300) -> tuple[int, IndexSummary | None]:
        """Wait for the exit; (return code, the summary printed on stdout or None)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        for reader in self._readers:
            reader.join(timeout=10)
        while self.next_event(timeout=1) is not None:
            pass
        text = b"".join(self._stdout).decode("utf-8", errors="replace").strip()
        try:
            summary = IndexSummary.from_json(json.loads(text.splitlines()[-1])) if text else None
        except (ValueError, KeyError, TypeError):
            summary = None
        return self.proc.returncode, summary

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.finish()

    def stderr_text(self) -> str:
        return "".join(self.noise)


def check_consistent(root: Path, store_dir: Path) -> dict:
    """What a reader sees in a store is whole: the catalog passes SQLite's own check, every embeddings row
    points at rows inside the vector file, and every stored vector is finite and unit-length.
    Returns {model name: {path: file vector}}."""
    seen: dict = {}
    with Store(root, store_dir, readonly=True) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        files = {f.id: f.path for f in store.files().values()}
        for model in store.models():
            vectors = store.vectors(model)
            assert vectors.shape == (model.rows, model.dim)
            got = store.db.execute(
                "SELECT file_id, row, parts FROM embeddings WHERE model_id=? AND row IS NOT NULL", (model.id,)
            ).fetchall()
            per_path = {}
            for file_id, row, parts in got:
                assert file_id in files, f"embedding of file id {file_id}, which the catalog does not have"
                extent = row + 1 + (parts if parts > 1 else 0)
                assert extent <= model.rows, (
                    f"{files[file_id]}: rows {row}..{extent} beyond {model.rows} committed"
                )
                block = np.asarray(vectors[row:extent])
                assert np.all(np.isfinite(block)), files[file_id]
                assert np.allclose(np.linalg.norm(block, axis=1), 1.0, atol=1e-3), files[file_id]
                per_path[files[file_id]] = block[0].copy()
            seen[model.name] = per_path
    return seen
