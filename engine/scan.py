"""Walking a folder: which files exist, what modality each has, and their cheap fingerprint.

The walk follows a symlink only when its target stays inside the root, never enters hidden folders, the
store or the store of a vectors source beside its source (`SOURCE.vexplore`), and never visits a
directory twice (symlink loops)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .modality import classify

HASH_WHOLE_LIMIT = 64 << 20  # bigger files are fingerprinted by head + tail + size


@dataclass(frozen=True)
class Entry:
    path: str  # relative to the root, "/"-separated, printable (undecodable bytes as \\x escapes)
    raw: bytes  # the same relative path as the file system spells it
    modality: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    keep: bool = False  # the failure may pass (permissions, a mount): what the catalog holds there stays


def display_name(raw: bytes) -> str:
    return raw.decode("utf-8", errors="backslashreplace")


def scan(root: Path, skip_dirs: tuple[Path, ...] = ()) -> tuple[list[Entry], list[Skipped]]:
    """All embeddable files under root (sorted by path) and the entries skipped with a reason."""
    root_real = os.path.realpath(root)
    skip_real = {os.path.realpath(p) for p in skip_dirs}
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    seen_dirs: set[tuple[int, int]] = set()
    stack: list[tuple[bytes, bytes]] = [(os.fsencode(root_real), b"")]
    # Folders reached through a symlink are walked after all real folders, so a folder that both lead to
    # is always listed under its own path, whatever order the file system lists names in.
    linked: list[tuple[bytes, bytes]] = []
    while stack or linked:
        if not stack:
            stack, linked = linked[::-1], []
        abs_dir, rel_dir = stack.pop()
        try:
            st = os.stat(abs_dir)
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            listing = sorted(os.scandir(abs_dir), key=lambda item: item.name)
        except OSError as exc:
            reason = f"cannot list folder: {exc.strerror}"
            skipped.append(Skipped(display_name(rel_dir) or ".", reason, keep=True))
            continue
        for item in listing:
            name = item.name
            rel = rel_dir + b"/" + name if rel_dir else name
            if name.startswith(b".") or name.endswith(b".vexplore"):  # hidden, or an imported source's store
                continue
            try:
                is_link = item.is_symlink()
                if is_link:
                    target = os.path.realpath(item.path)
                    if os.path.commonpath([target, os.fsencode(root_real)]) != os.fsencode(root_real):
                        skipped.append(Skipped(display_name(rel), "symlink points outside the folder"))
                        continue
                st = os.stat(item.path)  # follows a link that stays inside
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    reason = "symlink loop"
                elif is_link and exc.errno == errno.ENOENT:
                    reason = "broken symlink: its target does not exist"
                else:
                    reason = f"cannot stat: {exc.strerror}"
                skipped.append(Skipped(display_name(rel), reason, keep=exc.errno != errno.ENOENT))
                continue
            if stat.S_ISDIR(st.st_mode):
                if os.fsdecode(os.path.realpath(item.path)) not in skip_real:
                    (linked if is_link else stack).append((item.path, rel))
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            modality = classify(os.fsdecode(name))
            if modality is not None:
                entries.append(Entry(display_name(rel), rel, modality, st.st_size, st.st_mtime_ns))
    entries.sort(key=lambda e: (e.path, e.raw))
    unique: list[Entry] = []
    for e in entries:  # a non-UTF-8 name made printable can spell another file's name: keep the first
        if unique and unique[-1].path == e.path:
            skipped.append(Skipped(e.path, "its printable name is another file's too; rename one of them"))
        else:
            unique.append(e)
    return unique, skipped


def content_hash(path: Path | bytes, size: int) -> str:
    """blake2b of the content (head, tail and size for very large files); never reads past a cap."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        if size <= HASH_WHOLE_LIMIT:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        else:
            digest.update(fh.read(HASH_WHOLE_LIMIT // 2))
            fh.seek(max(0, size - HASH_WHOLE_LIMIT // 2))
            digest.update(fh.read(HASH_WHOLE_LIMIT // 2))
            digest.update(str(size).encode())
    return digest.hexdigest()
