"""One writer per store: an flock on store/lock. The kernel drops it when the holder dies, so a lock
left by a killed process is never stale; the file records the holder's pid for the message."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .errors import UserError


class LockedError(UserError):
    pass


class WriterLock:
    def __init__(self, store_dir: Path, wait: float = 0.0):
        self.path = store_dir / "lock"
        self.wait = wait
        self.fd: int | None = None

    def __enter__(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    os.close(fd)
                    raise LockedError(
                        f"another `vexplore index` (pid {holder}) is writing this store; "
                        "wait for it to finish or stop it"
                    ) from None
                time.sleep(0.2)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass  # a full disk: the pid is only for the message a second writer shows
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


class ReadersLock:
    """Every open reader of a store holds store/readers shared; compaction, which replaces a model's vector
    file and renumbers its rows, takes it exclusive and only when nobody holds it, so no reader ever pairs
    row numbers of one layout with the other file. A folder that cannot hold the file (read-only media)
    is skipped silently: no writer can work there either."""

    def __init__(self, store_dir: Path):
        self.path = store_dir / "readers"
        self.fd: int | None = None

    def _open(self) -> int | None:
        for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY):
            try:
                return os.open(self.path, flags, 0o600)
            except OSError:
                continue
        return None

    def share(self) -> None:
        """Blocks while a compaction runs (seconds at most), then holds the lock until release()."""
        fd = self._open()
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_SH)
            self.fd = fd

    def exclusive(self) -> bool:
        """Whether the lock is now held exclusively: False at once while any reader holds it."""
        fd = self._open()
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = None
