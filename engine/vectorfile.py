"""One model's vector file: float32 little-endian rows of `dim` values, appended and never rewritten in
place. The catalog says how many rows are valid; this module only ever trusts that count, never the
file's length: rows past it (a crash between the append and the catalog commit) are cut off.

Compaction writes the live rows to the file's successor (vectors-N.f32) and the catalog switches to it
in one transaction; whichever file the catalog does not name afterwards is a stray a writer removes."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .errors import StoreError

LEGACY_VECTORS = "vectors.f32"  # the vector file of a model whose models.vectors is NULL


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in folder durable (the entry lives in the folder, not the file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shorter(path: Path) -> StoreError:
    return StoreError(
        f"vector file {path} is shorter than the catalog says; run `vexplore index` again to repair the store"
    )


class VectorFile:
    """The vector file `name` (None: the legacy vectors.f32) in a model's folder."""

    def __init__(self, folder: Path, name: str | None, dim: int):
        self.folder, self.name, self.dim = folder, name or LEGACY_VECTORS, dim

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def _bytes(self, rows: int) -> int:
        return rows * self.dim * 4

    def append(self, rows: np.ndarray, committed: int) -> None:
        """Append rows after the `committed` valid ones and fsync, before the catalog records them.
        A file longer than the committed rows holds what a crash left: it is cut first, never trusted.
        A failed write (a full disk) cuts what it left, so no partial row outlives it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            if fh.tell() != self._bytes(committed):
                fh.truncate(self._bytes(committed))
                fh.seek(0, os.SEEK_END)
            try:
                fh.write(np.ascontiguousarray(rows, dtype="<f4").tobytes())
                fh.flush()
                os.fsync(fh.fileno())
            except OSError:
                fh.truncate(self._bytes(committed))  # frees what the failed write took
                raise

    def read(self, start: int, count: int) -> np.ndarray:
        """Rows [start, start + count), by one pread. A browser looks up one file at a time, and through
        the memory map each look-up would leave about 1 MB resident (the kernel reads around a faulted
        page), growing toward the whole file over a session; here nothing stays."""
        size = self._bytes(count)
        try:
            with open(self.path, "rb") as fh:
                data = os.pread(fh.fileno(), size, self._bytes(start))
        except OSError as exc:
            raise StoreError(f"cannot read vector file {self.path}: {exc.strerror}") from exc
        if len(data) < size:
            raise _shorter(self.path)
        return np.frombuffer(data, dtype="<f4").reshape(count, self.dim).copy()

    def map(self, rows: int) -> np.ndarray:
        """The first `rows` rows, memory-mapped read-only."""
        if rows == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.path.exists() or self.path.stat().st_size < self._bytes(rows):
            raise _shorter(self.path)
        return np.memmap(self.path, dtype="<f4", mode="r", shape=(rows, self.dim))

    def cut_to(self, committed: int) -> int | None:
        """Truncate the file to the committed rows (fsynced). Returns None when every committed row is
        there, else how many whole rows are left: a file damaged outside vexplore lost the rest."""
        valid = self._bytes(committed)
        size = self.path.stat().st_size if self.path.exists() else 0
        if size == valid:
            return None
        keep = min(size, valid) // self._bytes(1)
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.truncate(self._bytes(keep))
            os.fsync(fh.fileno())
        return None if size > valid else keep

    def remove_strays(self) -> list[Path]:
        """Delete the other vector files of the folder: what a compaction killed before its commit (the
        new file) or after it (the old one) left."""
        stray = [p for p in self.folder.glob("vectors*.f32") if p.name != self.name]
        for path in stray:
            path.unlink(missing_ok=True)
        return stray

    def successor(self) -> VectorFile:
        """The file a compaction writes next: vectors-1.f32 after the legacy vectors.f32, then
        vectors-2.f32, ..."""
        found = re.fullmatch(r"vectors-(\d+)\.f32", self.name)
        return VectorFile(self.folder, f"vectors-{int(found[1]) + 1 if found else 1}.f32", self.dim)

    def write(self, chunks: Iterable[np.ndarray]) -> None:
        """Write a whole new file and make it durable, name included, before the catalog names it."""
        try:
            with open(self.path, "wb") as fh:
                for chunk in chunks:
                    fh.write(np.asarray(chunk, dtype="<f4").tobytes())
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            self.path.unlink(missing_ok=True)  # a half-written successor (a full disk) is never left behind
            raise
        fsync_dir(self.folder)

    def remove(self) -> None:
        """Delete the file (the catalog no longer names it) and make that durable."""
        self.path.unlink(missing_ok=True)
        fsync_dir(self.folder)


class VectorMaps:
    """Read-only memory maps of vector files by model id, reused while the file name and the valid row
    count stay the same."""

    def __init__(self) -> None:
        self._maps: dict[int, tuple[str, int, np.ndarray]] = {}

    def get(self, key: int, file: VectorFile, rows: int) -> np.ndarray:
        cached = self._maps.get(key)
        if cached is not None and cached[:2] == (file.name, rows):
            return cached[2]
        arr = file.map(rows)
        self._maps[key] = (file.name, rows, arr)
        return arr

    def forget(self, key: int | None = None) -> None:
        """Drop one model's map (its file changed), or all of them: their pages stop counting as this
        process's memory."""
        if key is None:
            self._maps.clear()
        else:
            self._maps.pop(key, None)
