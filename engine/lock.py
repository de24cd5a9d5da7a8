"""One writer per store: an flock on store/lock. The kernel drops it when the holder dies, so a lock
left by a killed process is never stale; the file records the holder's pid for the message."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .errors import UserError
from .filesystems import shared


class LockedError(UserError):
    pass


class WriterLock:
    """wait: seconds to wait for another writer (math.inf: until it is done); on_wait hears once who
    holds the lock; stop (a Ctrl-C) ends the wait with KeyboardInterrupt."""

    def __init__(
        self,
        store_dir: Path,
        wait: float = 0.0,
        on_wait: Callable[[str], None] | None = None,
        stop: threading.Event | None = None,
    ):
        self.path = store_dir / "lock"
        self.wait, self.on_wait, self.stop = wait, on_wait, stop
        self.fd: int | None = None
        self.owner = OwnerFile(store_dir) if shared(store_dir) else None

    def __enter__(self) -> WriterLock:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.wait
        told = False
        while (holder := self._try(fd)) is not None:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LockedError(
                    f"another `vexplore index` ({holder}) is writing this store; "
                    "wait for it to finish (`vexplore index --wait`) or stop it"
                )
            if not told and self.on_wait is not None:
                self.on_wait(f"waiting for another `vexplore index` ({holder}) to finish with this store")
                told = True
            if self.stop is not None and self.stop.is_set():
                os.close(fd)
                raise KeyboardInterrupt
            time.sleep(0.2)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {int(time.time())}".encode(), 0)
        except OSError:
            pass  # a full disk: the pid is only for the message a second writer shows
        self.fd = fd
        return self

    def _try(self, fd: int) -> str | None:
        """Take the lock: None when taken, else who holds it."""
        try:
            _flock(fd, self.owner is not None)
        except BlockingIOError:
            return _holder(fd)
        if self.owner is not None and (held := self.owner.take()) is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            return held
        return None

    def __exit__(self, *exc) -> None:
        if self.owner is not None:
            self.owner.release()
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _flock(fd: int, shared_fs: bool) -> None:
    """flock, exclusive and non-blocking; on a network file system one that the server refuses (ENOLCK,
    EOPNOTSUPP) is no error: the owner file is the lock there."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise
    except OSError as exc:
        if not shared_fs or exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise


def _holder(fd: int) -> str:
    """Who holds the lock, as the lock file records it: "pid N, writing since HH:MM:SS"."""
    words = os.pread(fd, 64, 0).decode(errors="replace").split()
    pid = words[0] if words else "?"
    if len(words) > 1 and words[1].isdigit():
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(words[1])))
        return f"pid {pid}, writing since {since}"
    return f"pid {pid}"


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


class OwnerFile:
    """The writer's second lock on a network or FUSE file system, where flock may be local to one host or
    not work at all: a file made with O_EXCL (atomic on NFSv3+ and the cluster file systems) holding
    "host pid since". One left by a dead writer on this host is taken over; one from another host is
    named in the refusal, with how to clear it if that writer is gone."""

    def __init__(self, store_dir: Path):
        self.path = store_dir / "writer"
        self.held = False

    def take(self) -> str | None:
        """None when taken, else who holds it ("host H, pid N, writing since T")."""
        me = f"{socket.gethostname()} {os.getpid()} {int(time.time())}"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                holder = self._holder()
                if holder is not None:
                    return holder
                self.path.unlink(missing_ok=True)  # its writer died on this host: take it over
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            self.held = True
            return None
        return self._holder() or "another writer"

    def _holder(self) -> str | None:
        """Who holds the file, or None when it is stale (its pid is gone on this host)."""
        try:
            host, pid, since = self.path.read_text().split()[:3]
        except (OSError, ValueError):
            return "an unknown writer"
        if host == socket.gethostname() and pid.isdigit() and not alive(int(pid)):
            return None
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(int(since))) if since.isdigit() else "?"
        return f"host {host}, pid {pid}, writing since {when}; if it is gone, delete {self.path}"

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


def alive(pid: int) -> bool:
    """Whether a process of this host has that pid (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
