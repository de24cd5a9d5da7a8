"""The real `vexplore` console script in a real terminal (tmux): it starts, lists files, shows neighbors,
follows the keyboard, shows hostile names literally, and quits cleanly. tmux comes from `make system-deps`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tmux import Tmux

WIDTH, HEIGHT = 80, 24  # the smallest terminal the UI must look right in


def test_vexplore_in_tmux(ui_root, tmp_path):
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: run `make system-deps` (apt-get install tmux)")
    exe = Path(sys.executable).with_name("vexplore")
    assert exe.exists(), f"the console script is missing: {exe} (pip install -e .)"
    done = tmp_path / "exit-status"
    command = f"{exe} {ui_root}; echo $? > {done}"
    tmux = Tmux(f"vexplore-test-{os.getpid()}")
    env = {"HF_HUB_OFFLINE": "1", "TERM": "xterm-256color"}
    tmux.run(
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        str(WIDTH),
        "-y",
        str(HEIGHT),
        *[a for k, v in env.items() for a in ("-e", f"{k}={v}")],
        command,
    )
    try:
        # It starts, lists the files (the first is the one whose name is an escape sequence: shown, not run).
        text = tmux.wait_for("Files 15/15", "near ", "space/orbit.txt", "/ Search")
        assert "\\x1b[31mred.txt" in text
        assert "[bold red]x[/].txt" in text
        assert len(text.splitlines()) == HEIGHT and max(len(line) for line in text.splitlines()) <= WIDTH
        # The keyboard moves the cursor; the neighbors follow.
        # Keys at a person's pace: a key that moves the focus has to land before the next one is typed,
        # and ESC followed at once by a letter reads as alt+letter in any terminal.
        tmux.keys("/")
        time.sleep(0.3)
        tmux.keys("-l", "rockets")
        tmux.keys("Escape")
        time.sleep(0.5)
        tmux.keys("f")
        time.sleep(0.3)
        tmux.keys("-l", "orbit")
        tmux.keys("Enter")
        text = tmux.wait_for("near space/orbit.txt", "space/telescope.txt", "The rocket launched")
        tmux.keys("Enter")  # to the neighbors...
        time.sleep(0.3)
        tmux.keys("Enter")  # ...and jump to the nearest one
        text = tmux.wait_for("near space/telescope.txt")
        tmux.keys("[")
        tmux.wait_for("near space/orbit.txt")
        tmux.keys("q")
        deadline = time.monotonic() + 15
        while not done.exists():
            assert time.monotonic() < deadline, f"vexplore did not quit:\n{tmux.screen()}"
            time.sleep(0.1)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run([*tmux.base, "kill-server"], check=False, capture_output=True)
