"""Decoding files into parts, in loader worker processes when decoding is heavy (images, audio, video)
so the model never waits on Pillow or PyAV; inline for text, where workers would cost more than they save."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

from .catalog import FileRow
from .hang_hook import hang_here
from .models.base import Adapter, Decoded, DecodeError
from .results import FailedFile

Item = tuple[FileRow, Decoded] | FailedFile[FileRow]  # a file as read and decoded, or why it could not be


def file_path(root: Path, f: FileRow) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(root), f.raw)))


def decode_one(adapter: Adapter, root: Path, f: FileRow) -> Decoded | FailedFile[FileRow]:
    """The decoded file, or why it could not be decoded. Never raises for a bad file."""
    got = read_one(adapter, root, f)
    return got if isinstance(got, FailedFile) else got[1]


def read_one(adapter: Adapter, root: Path, f: FileRow) -> Item:
    """decode_one, with the file row carrying the fingerprint (size, mtime) of what was actually read: that
    is what the store records, so a file that changed after the scan is not embedded again on the next run."""
    got = _decode(adapter, root, f)
    return FailedFile(f, got) if isinstance(got, str) else got


def _decode(adapter: Adapter, root: Path, f: FileRow) -> tuple[FileRow, Decoded] | str:
    """read_one with the reason as a plain string, so each way a file fails stays one line."""
    path = file_path(root, f)
    try:
        before = os.stat(path)
        if not stat.S_ISREG(before.st_mode):  # replaced since the scan (a FIFO would block the read forever)
            return "no longer a regular file"
        hang_here(f.path)
        decoded = adapter.decode(path, f.modality)
        after = os.stat(path)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            return "file changed while it was being read; the next run reads it again"
        if not decoded.parts:
            return "nothing to embed in this file"
        return replace(f, size=before.st_size, mtime_ns=before.st_mtime_ns), decoded
    except DecodeError as exc:
        return str(exc)
    except FileNotFoundError:
        return "file vanished before it could be read"
    except PermissionError:
        return "permission denied"
    except MemoryError:
        return "file too large to decode in memory"
    except Exception as exc:  # noqa: BLE001 - a file must never crash the run
        return f"cannot decode: {type(exc).__name__}: {str(exc)[:200]}"


class _Files:
    """A map-style dataset over catalog rows for torch's DataLoader."""

    def __init__(self, adapter: Adapter, root: Path, files: list[FileRow]):
        self.adapter, self.root, self.files = adapter, root, files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> Item:
        return read_one(self.adapter, self.root, self.files[i])


def _as_is(item):
    return item


def default_workers(device: str = "cpu") -> int:
    """Decoder processes from the cores this process may use: all but one when a GPU embeds (the
    model needs no cpu then), at most 8 on the cpu, where the model's threads need the cores too."""
    cores = len(os.sched_getaffinity(0))
    return max(0, min(32 if device.startswith("cuda") else 8, cores - 1))


def decoded(adapter: Adapter, root: Path, files: list[FileRow], workers: int | None = None) -> Iterator[Item]:
    """(file as read, decoded), or why not, for every file, in order."""
    workers = default_workers(adapter.device) if workers is None else workers
    if not adapter.decode_in_workers or workers == 0 or len(files) < 2:
        for f in files:
            yield read_one(adapter, root, f)
        return
    from torch.utils.data import DataLoader, Dataset

    # Workers decode up to `decode_ahead` files while the model is busy with the previous batch
    # (adapters whose parts are small ask for a whole commit's worth, so the model never waits).
    ahead = getattr(adapter, "decode_ahead", 4 * workers)
    # DataLoader takes any map-style dataset (__getitem__ and __len__); _Files does not import torch.
    dataset = cast("Dataset[Item]", _Files(adapter, root, files))
    loader = DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        collate_fn=_as_is,
        prefetch_factor=max(4, -(-ahead // workers)),
        pin_memory=False,
    )
    yield from loader
