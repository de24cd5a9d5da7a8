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
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
