"""How a command ends: one line on stderr and exit 2 for what a user can cause, JSON lines on stdout, and
the fast exit of an `index` run that has committed and closed everything."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from vexplore.engine.diskfull import DiskFull, is_disk_full
from vexplore.engine.errors import UserError

T = TypeVar("T")
EXIT_DISK_FULL = 75  # sysexits' EX_TEMPFAIL: nothing is wrong with the store; retry with room to spare
finished = {"quick_exit": False}  # set by a command whose results are committed and closed when it returns


def json_line(obj: Any, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
    stream.flush()


def fail(message: str, status: int = 2) -> NoReturn:
    from vexplore.engine.printable import printable

    click.echo(f"vexplore: error: {printable(message)}", err=True)
    sys.exit(status)


def guarded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """fn's result; a UserError (or a SQLite error) becomes one line and exit 2, a full disk one line and
    EXIT_DISK_FULL, Ctrl-C exit 130."""
    try:
        return fn(*args, **kwargs)
    except DiskFull as exc:
        fail(str(exc), EXIT_DISK_FULL)
    except UserError as exc:
        fail(str(exc))
    except (OSError, sqlite3.DatabaseError) as exc:
        if is_disk_full(exc):  # a write path that does not know its store: one line, its own status
            fail(
                f"disk full: {exc}; nothing committed is lost; free some space and run it again",
                EXIT_DISK_FULL,
            )
        if isinstance(exc, OSError):
            raise
        fail(f"SQLite: {exc}")  # the catalog names its own file (StoreError); any other: one line
    except KeyboardInterrupt:
        click.echo("vexplore: interrupted", err=True)
        sys.exit(130)


def detach_output() -> None:
    """Point stdout and stderr at /dev/null. After a hang-up every write to the old terminal fails (EIO),
    and a failed write must not end a run that is committing its last batch; the store is the result."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(null, fd)
    os.close(null)


def notices(explorer) -> None:
    """What the reader had to mend on the way (an index rebuilt from the vectors), once, on stderr."""
    from vexplore.engine.printable import printable

    for message in explorer.notices:
        click.echo(f"vexplore: note: {printable(message)}", err=True)
    explorer.notices.clear()
