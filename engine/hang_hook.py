"""A hook for the hang tests: a child made to hang (or dawdle) on a marked file or request, as a stuck
GPU driver or a model in an endless loop would. Inert unless VEXPLORE_TEST_HANG is set.

VEXPLORE_TEST_HANG=marker: hang where the name contains marker. VEXPLORE_TEST_HANG_SECONDS: how long
(default: forever). VEXPLORE_TEST_HANG_ONCE=path: only the first time (the hook creates path)."""

from __future__ import annotations

import math
import os
import time


def hang_here(name: str) -> None:
    marker = os.environ.get("VEXPLORE_TEST_HANG")
    if not marker or marker not in name:
        return
    once = os.environ.get("VEXPLORE_TEST_HANG_ONCE")
    if once:
        try:
            os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return
    end = time.monotonic() + float(os.environ.get("VEXPLORE_TEST_HANG_SECONDS", "inf"))
    while time.monotonic() < end:
        time.sleep(min(1.0, end - time.monotonic()) if math.isfinite(end) else 1.0)
