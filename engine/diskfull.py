"""A full disk (or a quota) is not damage: the store keeps what it committed, and the user needs to hear
how much is safe, where the store is and how much room to make, never "move the catalog aside".

Every write path calls `is_disk_full(exc)` on what it caught; the index run turns it into `DiskFull`
after cleaning up (vector rows past the committed count cut, temp files removed), so the next run,
with room to spare, carries on where this one stopped. Any other writer of a store (an import of
vectors) does the same around its commits:

    try:
        ...  # store.commit_batch(...) per batch
    except Exception as exc:
        if not is_disk_full(exc, store.dir):
            raise
        raise store.settle_disk_full(total_items, "importing") from exc

and the CLI's `guarded` prints the line and exits with EXIT_DISK_FULL."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from .errors import StoreError

SQLITE_FULL = 13
# SQLite reports some writes on a full disk as I/O or open errors (a WAL or shm file it could not grow);
# those count as a full disk only when the file system really is (almost) out of room.
_SQLITE_MAYBE_FULL = {10, 14}  # SQLITE_IOERR, SQLITE_CANTOPEN
LOW_SPACE = 256 * 1024
NO_SPACE_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def free_bytes(folder: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the file system holding folder (its nearest
    existing parent); None when it cannot be asked."""
    folder = Path(folder)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def is_disk_full(exc: BaseException | None, folder: Path | None = None) -> bool:
    """Whether exc (or an exception it was raised from) is ENOSPC/EDQUOT or SQLite's SQLITE_FULL. With
    folder, an SQLite I/O or open error also counts when that file system has (almost) no room left."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFull):
            return True
        if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error):
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
            if code == SQLITE_FULL or "database or disk is full" in str(exc):
                return True
            if folder is not None and code in _SQLITE_MAYBE_FULL:
                room = free_bytes(folder)
                if room is not None and room < LOW_SPACE:
                    return True
        exc = exc.__cause__ or exc.__context__
    return False


def human(n: int) -> str:
    """A byte count as a person reads it (rounded up: an estimate of room to make should not fall short)."""
    value = float(max(n, 0))
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


class DiskFull(StoreError):
    """The disk (or a quota) filled while writing a store; what was committed stays. `committed` is how
    many files have their vectors safe (None when the writer did not know), `needed` an estimate of the
    room the rest needs in bytes (None: unknown)."""

    def __init__(self, store: Path, committed: int | None = None, needed: int | None = None, what: str = ""):
        self.store, self.committed, self.needed, self.what = Path(store), committed, needed, what
        super().__init__(self.describe())

    def describe(self) -> str:
        head = f"disk full{f' while {self.what}' if self.what else ''}"
        kept = (
            f"{self.committed} files are committed and nothing is lost"
            if self.committed is not None
            else "nothing committed is lost"
        )
        room = f"free about {human(self.needed)}" if self.needed else "free some space"
        return (
            f"{head}: {kept}; the store is {self.store}; {room} there (or give --store a folder on a "
            "bigger disk) and run the same command again to carry on"
        )


def estimate_needed(remaining_files: int, dims: list[int], store: Path) -> int:
    """Room the rest of a run needs: per file, each model's vector twice (the vector file and the index)
    plus the catalog row and its journal copy; and a margin, since SQLite and hnswlib grow in steps."""
    per_file = sum(d * 4 * 2 + 64 for d in dims) + 1024
    catalog = store / "catalog.sqlite"
    margin = max(catalog.stat().st_size // 4 if catalog.exists() else 0, 1 << 20)
    return max(remaining_files, 0) * per_file + margin
