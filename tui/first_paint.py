"""The start-up benchmark's probe (benchmarks/bench_startup.py), the one module that knows about it. With
VEXPLORE_FIRST_PAINT naming a file, the app notes when the browse screen has its first files on screen and
when it has all of them, writes those wall-clock times there with the heavy ML modules imported on the
way (there should be none), and exits."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from .app import VexploreApp
from .messages import FilesListed

ENV = "VEXPLORE_FIRST_PAINT"
HEAVY = ("torch", "transformers", "sentence_transformers")


class FirstPaintProbe(VexploreApp):
    """The explorer, timing its own start-up (run_app picks it when ENV is set)."""

    def on_mount(self) -> None:  # (Textual runs VexploreApp.on_mount too: handlers run along the MRO)
        self._times: dict[str, float] = {}

    def on_files_listed(self, message: FilesListed) -> None:
        self._times["all files" if message.complete else "first paint"] = time.time()
        if message.complete:
            heavy = sorted(m for m in sys.modules if m in HEAVY)
            Path(os.environ[ENV]).write_text(json.dumps({"times": self._times, "heavy": heavy}))
            self.exit()
