"""The two ways tests run the command line: in this process through click's runner (most CLI tests), and
as a real child process (`python -m vexplore`) for what only a process shows: signals, exit codes of a
fresh interpreter, which modules it imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, NamedTuple

from click.testing import CliRunner

from vexplore.cli import main


class CliResult(NamedTuple):
    """What one in-process `vexplore ...` left behind; unpacks as (code, stdout, stderr)."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The last line of stdout as JSON (the summary or answer of a --json command)."""
        return json.loads(self.stdout.strip().splitlines()[-1])

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.strip().splitlines()]


def invoke(*args: object, expect: int | None = 0) -> CliResult:
    """`vexplore ARGS...` in this process; asserts the exit code is `expect` (None: any code)."""
    argv = [str(a) for a in args]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    ran = CliResult(result.exit_code, result.stdout, result.stderr)
    if expect is not None:
        assert ran.code == expect, f"vexplore {' '.join(argv)} exited {ran.code}: {ran.stderr[-2000:]}"
    return ran


def child_env(**extra: str) -> dict[str, str]:
    return dict(
        os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **extra
    )


def run_cli(
    *args: str, timeout: float = 120, python_flags: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess:
    """`python [python_flags] -m vexplore ARGS...` as a child, to completion; text stdout and stderr."""
    return subprocess.run(
        [sys.executable, *python_flags, "-m", "vexplore", *args],
        capture_output=True,
        text=True,
        env=child_env(**env),
        timeout=timeout,
        check=False,
    )
