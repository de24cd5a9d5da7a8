"""What kind of file system a folder is on: local, network (NFS, SMB/CIFS, Lustre, GPFS, BeeGFS, Ceph,
9p...) or FUSE (sshfs, rclone...). SQLite documents that WAL does not work on network file systems (the
shared-memory index needs one host's memory) and `flock` is unreliable on some of them, so the store
policy (store.py, catalog.py, lock.py) asks here first.

Linux answers from /proc/self/mountinfo (the longest mount point above the folder), else from statfs's
f_type; elsewhere a folder counts as local. VEXPLORE_TEST_FS_TYPE names the type for every folder: how
the tests try the network policy on a machine with no NFS server."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

Kind = Literal["local", "network", "fuse"]

NETWORK = {
    "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "ncpfs", "afs", "lustre", "gpfs", "beegfs",
    "ceph", "cephfs", "glusterfs", "9p", "orangefs", "pvfs2", "ocfs2", "gfs2", "davfs", "coda", "panfs",
    "virtiofs", "weka", "wekafs", "quobyte",
}  # fmt: skip
# statfs f_type magic numbers (linux/magic.h and the file systems' own headers) for when /proc is absent.
MAGIC = {
    0x6969: "nfs", 0xFF534D42: "cifs", 0xFE534D42: "smb2", 0x517B: "smbfs", 0x0BD00BD0: "lustre",
    0x47504653: "gpfs", 0x19830326: "beegfs", 0x00C36400: "ceph", 0x01021997: "9p", 0x65735546: "fuse",
    0x01021994: "tmpfs", 0xEF53: "ext4", 0x58465342: "xfs", 0x9123683E: "btrfs", 0x2FC12FC1: "zfs",
    0x6A656A63: "fakeowner",
}  # fmt: skip


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040...)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mounts(text: str) -> list[tuple[str, str]]:
    """(mount point, file-system type) of every line of a mountinfo text."""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if sep and len(fields) >= 5 and right.split():
            out.append((_unescape(fields[4]), right.split()[0]))
    return out


def _existing(folder: Path) -> Path:
    folder = Path(os.path.abspath(folder))
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder.resolve()


def _from_mountinfo(folder: Path) -> str | None:
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return None
    best, found = -1, None
    for point, fstype in mounts(text):
        inside = str(folder) == point or str(folder).startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best:  # the last of equal points is the one mounted on top
            best, found = len(point), fstype
    return found


class _Statfs(ctypes.Structure):
    _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 256)]


def _from_statfs(folder: Path) -> str | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        buf = _Statfs()
        if libc.statfs(os.fsencode(folder), ctypes.byref(buf)) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return MAGIC.get(buf.f_type & 0xFFFFFFFF, f"0x{buf.f_type & 0xFFFFFFFF:x}")


def fs_type(folder: Path) -> str:
    """The file-system type of folder (its nearest existing parent): "ext4", "nfs4", "fuse.sshfs"...;
    "unknown" where the system cannot tell."""
    forced = os.environ.get("VEXPLORE_TEST_FS_TYPE")
    if forced:
        return forced
    return _type_of(_existing(folder))


@lru_cache(maxsize=64)
def _type_of(folder: Path) -> str:
    return _from_mountinfo(folder) or _from_statfs(folder) or "unknown"


def kind_of(fstype: str) -> Kind:
    if fstype == "fuse" or fstype.startswith(("fuse.", "fuseblk")):
        return "fuse"
    return "network" if fstype.split(".")[0] in NETWORK else "local"


def fs_kind(folder: Path) -> Kind:
    """local, network or fuse: what the store policy decides by."""
    return kind_of(fs_type(folder))


def shared(folder: Path) -> str | None:
    """The type of a network or FUSE file system folder is on (None: local), for the messages."""
    fstype = fs_type(folder)
    return None if kind_of(fstype) == "local" else fstype


def journal_mode(store_dir: Path) -> str:
    """SQLite's journal for a catalog in store_dir: WAL where it works, DELETE on a network or FUSE file
    system (WAL's shared memory cannot span hosts)."""
    return "DELETE" if shared(store_dir) else "WAL"


def store_warning(store_dir: Path) -> str | None:
    """The one warning for a store kept on a network or FUSE file system (an explicit --store there)."""
    fstype = shared(store_dir)
    if fstype is None:
        return None
    return (
        f"the store {store_dir} is on a {kind_of(fstype)} file system ({fstype}): its catalog uses a "
        "rollback journal instead of WAL and the one writer is also checked by a lock file; a store on "
        "a local disk is faster and safer"
    )
