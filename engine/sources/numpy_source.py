"""Arrays of vectors: a `.npy` (memory-mapped, so rows are read a batch at a time) or a `.npz`, with
ids, labels and texts from `--meta`, the export sidecar `X.npy.json`, or 1-D arrays in the same npz."""

from __future__ import annotations

import mmap
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import UserError
from .base import Batch, Columns, SourceInfo, VectorSource
from .columns import as_strings, parts
from .meta import Meta, read_meta

VECTOR_KEYS = ("embeddings", "embedding", "vectors", "vector", "arr_0")


class NumpySource(VectorSource):
    kind = "numpy"

    def __init__(self, location: str, columns: Columns, table: str | None = None, meta: str | None = None):
        self.path = Path(location)
        if not self.path.is_file():
            raise UserError(f"{location}: no such file")
        self.meta = Meta()
        self.array = self._open(columns.vector)
        if self.array.ndim != 2:
            raise UserError(f"{location}: holds an array of shape {self.array.shape}, not (rows, dim)")
        if not (np.issubdtype(self.array.dtype, np.floating) or np.issubdtype(self.array.dtype, np.integer)):
            raise UserError(f"{location}: holds {self.array.dtype} values, not numbers")
        sidecar = self.path.with_name(self.path.name + ".json")
        self.meta_file = Path(meta) if meta is not None else sidecar if sidecar.is_file() else None
        if self.meta_file is not None:
            self.meta = read_meta(self.meta_file)
        n = len(self.array)
        if self.meta.columns and self.meta.rows != n:
            where = meta or sidecar
            raise UserError(f"{where}: {self.meta.rows} metadata rows for {n} vectors in {location}")
        self.parts = parts(columns, list(self.meta.columns), str(meta or location), None)

    def _open(self, key: str | None) -> np.ndarray:
        try:
            if self.path.suffix.lower() != ".npz":
                return np.load(self.path, mmap_mode="r", allow_pickle=False)
            with np.load(self.path, allow_pickle=False) as npz:
                names = list(npz.files)
                if key is None:
                    two_d = [k for k in names if len(npz[k].shape) == 2]
                    key = next((k for k in VECTOR_KEYS if k in two_d), two_d[0] if len(two_d) == 1 else None)
                    if key is None:
                        raise UserError(
                            f"{self.path}: name the array of vectors with --vector-column "
                            f"({', '.join(names)})"
                        )
                if key not in names:
                    raise UserError(f"{self.path}: no array {key!r} (arrays: {', '.join(names)})")
                array = npz[key]
                # The other 1-D arrays of the same length are columns (ids, labels, texts).
                for other in names:
                    values = npz[other] if other != key else None
                    if values is not None and values.ndim == 1 and len(values) == len(array):
                        self.meta.columns[other] = values.tolist()
                self.meta.rows = len(array)
                return array
        except UserError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise UserError(f"{self.path}: not a readable numpy file ({exc}); is it truncated?") from exc

    @classmethod
    def sniff(cls, location: str) -> bool:
        return Path(location).suffix.lower() in (".npy", ".npz") and Path(location).is_file()

    def describe(self) -> SourceInfo:
        stamps = [os.stat(self.path)]
        if self.meta_file is not None:
            stamps.append(os.stat(self.meta_file))
        n, dim = self.array.shape
        return SourceInfo(
            self.kind,
            str(self.path),
            int(n),
            int(dim),
            ["vector", *self.meta.columns],
            self.meta.model,
            ";".join(f"{s.st_size}:{s.st_mtime_ns}" for s in stamps),
        )

    def batches(self, rows: int = 65536) -> Iterator[Batch]:
        n = len(self.array)
        for start in range(0, n, rows):
            stop = min(start + rows, n)
            got = {p: as_strings(self.meta.columns[c][start:stop]) for p, c in self.parts.items()}
            named = got.get("id") or [str(i) for i in range(start, stop)]
            ids = [str(start + i) if v is None else v for i, v in enumerate(named)]
            vectors = np.array(self.array[start:stop], np.float32)  # a copy: the mapped pages can go
            self._release(stop)
            yield Batch(ids, vectors, got.get("label"), got.get("text"), got.get("path"))

    def _release(self, rows: int) -> None:
        """Drop the mapped pages of the rows read so far from this process's memory (they stay in the
        page cache): a big .npy streams with memory bounded by one batch, not the file's size."""
        held = getattr(self.array, "_mmap", None)
        if held is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        offset = int(getattr(self.array, "offset", 0))
        into = offset % mmap.ALLOCATIONGRANULARITY + rows * self.array.strides[0]
        length = into - into % mmap.PAGESIZE
        if length > 0:
            held.madvise(mmap.MADV_DONTNEED, 0, length)
