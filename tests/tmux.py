"""A private tmux server running one command: the real app in a real terminal, for the tests and the
benchmarks (tmux comes from `make system-deps`)."""

from __future__ import annotations

import os
import subprocess
import time


class Tmux:
    """A private tmux server (its own socket, no user config) running one command."""

    def __init__(self, name: str):
        self.base = ["tmux", "-L", name, "-f", os.devnull]

    def run(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "ui")

    def wait_for(self, *needles: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if all(n in text for n in needles):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {needles} on screen:\n{text}")
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "ui", *keys)

    def pane_pid(self) -> int:
        """The process the pane runs (the command itself when it was started without a shell)."""
        return int(self.run("display-message", "-p", "-t", "ui", "#{pane_pid}").strip())

    def kill(self) -> None:
        subprocess.run([*self.base, "kill-server"], check=False, capture_output=True)
