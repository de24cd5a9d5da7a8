"""The hnswlib index of one model: cosine space, labels = catalog file ids.

The file is written to a temp name, fsynced and renamed; a JSON sidecar records the catalog
generation it matches, its size and checksum, and the `ef` that met the recall target. An index that
is missing, corrupt or behind the catalog is rebuilt from the stored vectors."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from .store import ModelRow, Store
from .vectorfile import fsync_dir

M = 16
EF_CONSTRUCTION = 200
# An index built over more than LARGE files gets twice the links per node: on clustered 384-d vectors at
# 1M, M = 16 left recall@10 below 0.98 even at ef 256, while M = 32 reaches it at ef 64 (figures in
# benchmarks/README.md). An index that grows past LARGE keeps the M it was built with.
M_LARGE = 32
LARGE = 200_000
BUILD_CHUNK = 65_536  # rows copied out of the memory map per add_items call
RECALL_TARGET = 0.99
# ef is taken once the sample's recall, less this many standard errors, meets the target: the sample's
# figure alone lands below the target over every file about half the time (benchmarks/README.md).
RECALL_MARGIN = 1.0
# An index run re-tunes ef only once the items added or removed since the last tuning reach this share of
# the index: tuning runs exact search over every stored vector, which one changed file should not cost.
RETUNE_SHARE = 0.01
TIE = 1e-5  # cosines this close count as equal when scoring recall (float32 rounding differs by path)
EF_LADDER = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
# Up to this many vectors neighbors are exact (the query's single look-ups and the audit's graph); above
# it the index answers. Exact search costs n² dot products, the index about n log n; up to here the exact
# graph costs at most about twice the index's (benchmarks/bench_audit.py measures both, and
# benchmarks/README.md has the figures), a price worth paying for an answer with no misses.
EXACT_MAX = 30_000


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _checksum(path: Path, like: str = "crc32:") -> str:
    """The file's CRC-32 as "crc32:<hex>": it is checked on every open, and at 1M vectors (a 1.7 GB file)
    CRC-32 takes 0.5 s where blake2b took 2 s, longer than hnswlib's load itself; any accidental damage
    still shows. A sidecar written before (a bare blake2b-128 hex, passed as like) is checked the old way."""
    crc, digest = 0, hashlib.blake2b(digest_size=16)
    old = not like.startswith("crc32:")
    buffer = bytearray(1 << 22)
    view = memoryview(buffer)
    with open(path, "rb") as fh:
        while n := fh.readinto(buffer):
            if old:
                digest.update(view[:n])
            else:
                crc = zlib.crc32(view[:n], crc)
    return digest.hexdigest() if old else f"crc32:{crc:08x}"


def _fsync_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)


def exact_knn(
    vectors: np.ndarray, rows: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int, chunk: int = 65536
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k (file ids, cosines) for each query, streaming the stored rows in chunks (bounded
    memory); each row's k hits come in no particular order."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(rows), chunk):
        part = np.asarray(vectors[rows[start : start + chunk]], dtype=np.float32)
        scores = queries @ part.T
        s = np.concatenate([best_s, scores], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(ids[start : start + chunk], scores.shape)], axis=1)
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s, top, 1), np.take_along_axis(i, top, 1)
    return best_i, best_s


@dataclass
class IndexState:
    generation: int
    count: int
    ef: int
    recall: float | None
    size: int
    checksum: str
    untuned: int = 0  # items added or removed since ef was tuned


class VectorIndex:
    """An hnswlib index bound to one model of one store."""

    def __init__(self, store: Store, model: ModelRow):
        self.store = store
        self.model = model
        self.dir = store.model_dir(model)
        self.path = self.dir / "index.hnsw"
        self.sidecar = self.dir / "index.json"
        self.hnsw: hnswlib.Index | None = None
        self.ef = 64
        self.recall: float | None = None
        self.rebuilt = False
        # The catalog generation the contents match (self.model is refreshed as it goes; a reader must not
        # take the newer generation of its model row for what it built from).
        self.generation: int | None = None
        self.notice: str | None = None
        self.untuned = 0

    # ---- open / build ------------------------------------------------------------------------
    def open(self, persist: bool = True) -> VectorIndex:
        """Load the saved index if it is intact and current; otherwise rebuild it (and save if allowed).
        A damaged or missing index leaves a notice; one that is merely behind the catalog does not."""
        state, problem = self._read_state(), self.problem()
        if problem is None and state is not None and state.generation == self.model.generation:
            try:
                # hnswlib trusts the file: damaged links load fine and crash the process at the first query,
                # so nothing reaches load_index unless it is byte for byte the file the sidecar describes.
                if _checksum(self.path, state.checksum) != state.checksum:
                    raise ValueError("checksum differs from the sidecar")
                index = hnswlib.Index(space="cosine", dim=self.model.dim)
                index.load_index(str(self.path), max_elements=max(state.count, 1))
                if index.element_count != state.count:
                    raise ValueError("element count differs from the sidecar")
                self.hnsw, self.ef, self.recall = index, state.ef, state.recall
                self.generation = state.generation
                self.untuned = state.untuned
                self.hnsw.set_ef(self.ef)
                return self
            except (OSError, RuntimeError, ValueError) as exc:
                problem = f"is damaged ({exc})"
        if problem is not None:
            self.notice = f"the index of {self.model.name!r} {problem}; rebuilt from the stored vectors"
        self.build()
        if persist and not self.store.readonly:
            self.save()
        return self

    def problem(self) -> str | None:
        """What is wrong with the saved index, judged without reading it (the checksum is checked when it
        is loaded): None when it looks whole, or is merely behind the catalog (a quiet rebuild)."""
        state = self._read_state()
        if state is None:
            if self.model.rows == 0:
                return None  # never saved: nothing was ever embedded
            return "has no readable sidecar index.json" if self.path.exists() else "is missing"
        if state.generation != self.model.generation:
            return None
        try:
            size = self.path.stat().st_size
        except OSError:
            return "is missing"
        return None if size == state.size else "is damaged (size differs from the sidecar)"

    def behind(self) -> bool:
        """Whether the saved index describes an older catalog generation: a writer killed after a commit
        and before (or during) its save left it so, perhaps with a temporary file beside it."""
        state = self._read_state()
        return state is not None and state.generation != self.model.generation

    def _refresh(self) -> None:
        self.model = self.store.model(self.model.name) or self.model

    def build(self) -> None:
        """A fresh index over every stored file vector, on all cores. The vectors are added a chunk at a
        time from the memory map, so the build holds hnswlib's copy of them and no second one."""
        self._refresh()
        self.generation = self.model.generation  # a commit landing before the read below only adds to it
        ids, rows = self.store.embedded(self.model)
        vectors = self.store.vectors(self.model)
        index = hnswlib.Index(space="cosine", dim=self.model.dim)
        index.init_index(
            max_elements=max(len(ids) + 16, 64),
            ef_construction=EF_CONSTRUCTION,
            M=M if len(ids) <= LARGE else M_LARGE,
            allow_replace_deleted=False,
        )
        index.set_num_threads(os.cpu_count() or 1)
        for start in range(0, len(ids), BUILD_CHUNK):
            chunk = rows[start : start + BUILD_CHUNK]
            index.add_items(np.asarray(vectors[chunk], dtype=np.float32), ids[start : start + BUILD_CHUNK])
        self.hnsw = index
        self.rebuilt = True
        self.tune()

    def tune(self, sample: int = 200, k: int = 10) -> None:
        """Pick the smallest ef whose recall@k against exact search on a sample meets the target."""
        assert self.hnsw is not None
        self._refresh()
        self.untuned = 0
        if self.store.count_embedded(self.model) <= k + 1:
            self.ef, self.recall = max(k, 16), 1.0
            self.hnsw.set_ef(self.ef)
            return
        self.ef, self.recall = self.recall_curve(sample, k)[-1]

    def probe(
        self, sample: int, k: int, seed: int = 0, data: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, list[set[int]], np.ndarray, int]:
        """Sample queries, their exact k nearest file ids and the exact k-th best cosine of each.
        data: (file ids, their normalised vectors) when the caller already holds them; else the stored
        rows are streamed from the memory map."""
        if data is None:
            ids, rows = self.store.embedded(self.model)
            vectors = self.store.vectors(self.model)  # stored normalised; memory-mapped, read in chunks
        else:
            ids, vectors = data
            rows = np.arange(len(ids))
        n = len(ids)
        pick = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
        queries = normalise(vectors[np.sort(rows[pick])])
        kk = min(k, n)
        top_ids, top_sims = exact_knn(vectors, rows, ids, queries, kk)
        return queries, [set(t) for t in top_ids.tolist()], top_sims.min(axis=1), kk

    def recall_at(
        self, ef: int, queries: np.ndarray, truth: list[set[int]], kth: np.ndarray, k: int
    ) -> float:
        """Recall@k of the index at this ef against exact search. A hit tied with the exact k-th
        neighbor counts as found: among equally near files any one is a right answer."""
        assert self.hnsw is not None
        self.hnsw.set_ef(max(ef, k))
        labels, distances = self.hnsw.knn_query(queries, k=k)
        self.hnsw.set_ef(max(self.ef, k))
        tied = (1.0 - distances) >= (kth[:, None] - TIE)
        hits = [
            sum(lab in truth[i] or bool(tied[i, j]) for j, lab in enumerate(row))
            for i, row in enumerate(labels.tolist())
        ]
        return float(np.mean(hits)) / k

    def recall_curve(
        self, sample: int = 200, k: int = 10, target: float = RECALL_TARGET, seed: int = 0
    ) -> list[tuple[int, float]]:
        """(ef, recall@k) up the ladder, stopping at the first ef that meets target with RECALL_MARGIN
        standard errors of the sample to spare (or the ladder's end)."""
        queries, truth, kth, kk = self.probe(sample, k, seed)
        curve = []
        for ef in EF_LADDER:
            recall = self.recall_at(max(ef, kk), queries, truth, kth, kk)
            curve.append((max(ef, kk), recall))
            if recall - RECALL_MARGIN * np.sqrt(recall * (1 - recall) / (len(queries) * kk)) >= target:
                break
        return curve

    def tuning_stale(self) -> bool:
        """Whether enough has changed since ef was tuned (RETUNE_SHARE of the index) to tune it again."""
        assert self.hnsw is not None
        return self.untuned >= RETUNE_SHARE * self.hnsw.element_count

    # ---- updates -----------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        assert self.hnsw is not None
        need = self.hnsw.element_count + len(ids)
        if need > self.hnsw.get_max_elements():
            self.hnsw.resize_index(max(need, int(self.hnsw.get_max_elements() * 1.5)))
        self.hnsw.add_items(np.asarray(vectors, dtype=np.float32), np.asarray(ids))
        self.untuned += len(ids)

    def remove(self, ids: list[int]) -> None:
        assert self.hnsw is not None
        for i in ids:
            try:
                self.hnsw.mark_deleted(int(i))
                self.untuned += 1
            except RuntimeError:
                pass  # not in the index, or already deleted (no O(n) list of ids to check first)

    def save(self) -> None:
        assert self.hnsw is not None
        self._refresh()
        self.dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.dir.glob("index.*tmp"):  # from a saver that was killed; savers hold the lock
            leftover.unlink(missing_ok=True)
        try:
            self._write()
        except BaseException:  # a full disk: no temp file is left, the old index (if any) stays whole
            for leftover in self.dir.glob(f"index.*.{os.getpid()}.tmp"):
                leftover.unlink(missing_ok=True)
            raise

    def _write(self) -> None:
        assert self.hnsw is not None
        tmp = self.dir / f"index.hnsw.{os.getpid()}.tmp"
        self.hnsw.save_index(str(tmp))
        if tmp.stat().st_size != self.hnsw.index_file_size():  # hnswlib ignores failed writes (a full disk)
            raise OSError(errno.ENOSPC, f"index file {tmp} was cut short", str(tmp))
        state = IndexState(
            self.model.generation,
            self.hnsw.element_count,
            self.ef,
            self.recall,
            tmp.stat().st_size,
            _checksum(tmp),
        )
        _fsync_replace(tmp, self.path)
        tmp_json = self.dir / f"index.json.{os.getpid()}.tmp"
        tmp_json.write_text(json.dumps(state.__dict__ | {"untuned": self.untuned}))
        _fsync_replace(tmp_json, self.sidecar)

    def _read_state(self) -> IndexState | None:
        try:
            return IndexState(**json.loads(self.sidecar.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    # ---- queries -----------------------------------------------------------------------------
    def knn(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(file ids, cosine similarities) of the k nearest items to each query vector."""
        assert self.hnsw is not None
        queries = normalise(np.atleast_2d(vectors))
        k = min(k, self.hnsw.element_count)
        counted = False
        while k > 0:
            self.hnsw.set_ef(max(self.ef, k))
            try:
                labels, distances = self.hnsw.knn_query(queries, k=k)
                return labels.astype(np.int64), (1.0 - distances).astype(np.float32)
            except RuntimeError:  # fewer live items than k: deleted ones, or a catalog that moved on since
                k = k - 1 if counted else min(k - 1, self.store.count_embedded(self.model))  # this was built
                counted = True
        return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
