"""The indexing child's heartbeat: a thread that notices when the run has held one file too long (a
decoder or model that hangs instead of dying) and says which file, as a `stall` event, so the explorer
(or a user reading --json) can tell a hang from a slow file, and kill and restart the child."""

from __future__ import annotations

import os
import threading
import time

from .events import Emit, StallEvent

DEFAULT_STALL_SECONDS = 60.0
DEFAULT_HANG_SECONDS = 600.0


def hang_seconds() -> float:
    """How long a child (the indexer, the query process) may go without progress before its parent
    counts it as hung, kills it and starts it once more: VEXPLORE_HANG_SECONDS, else the default. Long,
    because slow is not hung: a first batch on a slow device, a report over a million vectors."""
    try:
        return max(float(os.environ.get("VEXPLORE_HANG_SECONDS", DEFAULT_HANG_SECONDS)), 0.1)
    except ValueError:
        return DEFAULT_HANG_SECONDS


def stall_seconds() -> float:
    """How long one file may be in hand before a stall is reported: VEXPLORE_STALL_SECONDS, else the
    default."""
    try:
        return max(float(os.environ.get("VEXPLORE_STALL_SECONDS", DEFAULT_STALL_SECONDS)), 0.05)
    except ValueError:
        return DEFAULT_STALL_SECONDS


class Heartbeat:
    """hand(model, path) names the file the run now works on; every stall interval with the same file in
    hand sends a StallEvent. A context manager: the thread runs inside the with block."""

    def __init__(self, emit: Emit, every: float | None = None):
        self.emit, self.every = emit, every or stall_seconds()
        self._hand = ("", "", time.monotonic())  # (model, path, since): swapped whole, read whole
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="vexplore-heartbeat", daemon=True)

    def hand(self, model: str, path: str) -> None:
        self._hand = (model, path, time.monotonic())

    def idle(self) -> None:
        """Nothing in hand (between models, saving): no stall to report."""
        self._hand = ("", "", time.monotonic())

    def _watch(self) -> None:
        told, told_due = self._hand, 0  # the hand last reported, and after how many intervals
        while not self._done.wait(self.every / 4):
            hand = self._hand
            model, path, since = hand
            held = time.monotonic() - since
            due = int(held // self.every)
            if path and due >= 1 and (hand != told or due > told_due):
                told, told_due = hand, due
                self.emit(StallEvent(model, path, round(held, 1)))

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)
