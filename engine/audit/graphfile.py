"""The neighbor graph as the store keeps it: `<model folder>/graph.npz`, one zip file in numpy's .npz
layout (no pickle) that any tool can read with zipfile + numpy:

    header.json      {"format": 1, "generation", "k", "exact", "ef", "count"}
    ids.npy          int64 [n]     the file ids it covers, ascending (row i is file ids[i])
    neighbors.npy    int64 [n, k]  each file's k nearest other files as file ids, nearest first
    sims.npy         float32 [n, k] their cosine similarities
    fingerprints.npy uint64 [n]    a hash of each file's stored vector (fingerprints below)

One file, so a reader never pairs the arrays of one save with the header of another; written to a temp
name, fsynced and renamed like the index. The zip's CRC-32 of every member is checked as it is read, so a
damaged file is noticed and rebuilt, never trusted."""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..lock import alive
from ..vectorfile import fsync_dir

FORMAT = 1
NAME = "graph.npz"
ARRAYS = ("ids", "neighbors", "sims", "fingerprints")
FINGERPRINT_ROWS = 16_384  # rows hashed at once (bounds the uint64 copy)
GOLDEN = 0x9E3779B97F4A7C15  # an odd 64-bit constant (2^64 / golden ratio): odd weights lose no bit


@dataclass(frozen=True)
class StoredGraph:
    """A graph as saved: neighbors as file ids, so it outlives changes to row positions."""

    generation: int
    k: int
    exact: bool
    ef: int | None
    ids: np.ndarray  # [n] int64 ascending
    neighbors: np.ndarray  # [n, k] int64 file ids
    sims: np.ndarray  # [n, k] float32
    fingerprints: np.ndarray  # [n] uint64


def fingerprints(x: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's float32 bits, sum over j of bits[j] × (2j + 1) × GOLDEN modulo 2^64:
    integer arithmetic, so the same vector gives the same value on any machine and numpy version (and
    another tool can compute it); an edited file's new vector gives another."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    with np.errstate(over="ignore"):
        weights = (2 * np.arange(bits.shape[1], dtype=np.uint64) + np.uint64(1)) * np.uint64(GOLDEN)
    out = np.empty(len(bits), np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, len(bits), FINGERPRINT_ROWS):
            part = bits[start : start + FINGERPRINT_ROWS].astype(np.uint64)
            out[start : start + FINGERPRINT_ROWS] = (part * weights).sum(axis=1)
    return out


def graph_path(folder: Path) -> Path:
    return folder / NAME


def save(folder: Path, graph: StoredGraph) -> None:
    """Write graph.npz atomically: a temp file of this process, fsynced, renamed over the old one."""
    folder.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(folder)
    tmp = folder / f"{NAME}.{os.getpid()}.tmp"
    header = {
        "format": FORMAT,
        "generation": graph.generation,
        "k": graph.k,
        "exact": graph.exact,
        "ef": graph.ef,
        "count": len(graph.ids),
    }
    try:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                zf.writestr("header.json", json.dumps(header))
                for name in ARRAYS:
                    with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.ascontiguousarray(getattr(graph, name)))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, graph_path(folder))
        fsync_dir(folder)
    finally:
        tmp.unlink(missing_ok=True)


def read(folder: Path, generation: int | None = None) -> tuple[StoredGraph | None, str | None]:
    """(the saved graph, None), or (None, what is wrong with it): None, None when there is none, or when
    generation is given and the graph is of another (its arrays are then never read)."""
    path = graph_path(folder)
    if not path.exists():
        return None, None
    try:
        with zipfile.ZipFile(path) as zf:
            header = json.loads(zf.read("header.json"))
            if header.get("format") != FORMAT:
                return None, f"has format {header.get('format')!r}, not {FORMAT}"
            if generation is not None and header.get("generation") != generation:
                return None, None
            arrays = {
                name: np.lib.format.read_array(io.BytesIO(zf.read(f"{name}.npy")), allow_pickle=False)
                for name in ARRAYS
            }
        graph = StoredGraph(
            int(header["generation"]),
            int(header["k"]),
            bool(header["exact"]),
            None if header.get("ef") is None else int(header["ef"]),
            **arrays,
        )
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        return None, f"is damaged ({exc})"
    n = len(graph.ids)
    if (
        graph.neighbors.shape != (n, graph.k)
        or graph.sims.shape != (n, graph.k)
        or len(graph.fingerprints) != n
    ):
        return None, "is damaged (its arrays disagree in shape)"
    return graph, None


def _remove_leftovers(folder: Path) -> None:
    """Temp files of savers that were killed (their process is gone)."""
    for leftover in folder.glob(f"{NAME}.*.tmp"):
        pid = leftover.name.split(".")[-2]
        if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
            leftover.unlink(missing_ok=True)
