"""The hnswlib index of one model: cosine space, labels = catalog file ids.

The file is written to a temp name, fsynced and renamed; a JSON sidecar records the catalog
generation it matches, its size and checksum, and the `ef` that met the recall target. An index that
is missing, corrupt or behind the catalog is rebuilt from the stored vectors."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import hnswlib
import numpy as np

from .store import ModelRow, Store

M = 16
EF_CONSTRUCTION = 200
RECALL_TARGET = 0.98
EF_LADDER = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _checksum(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass
class IndexState:
    generation: int
    count: int
    ef: int
    recall: float | None
    size: int
    checksum: str


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
        self.notice: str | None = None
        self._live: int | None = None  # vectors a query can return; counting them costs a table scan

    # ---- open / build ------------------------------------------------------------------------
    def open(self, persist: bool = True) -> VectorIndex:
        """Load the saved index if it is intact and current; otherwise rebuild it (and save if allowed)."""
        state = self._read_state()
        if state is not None and state.generation == self.model.generation:
            try:
                if self.path.stat().st_size != state.size:
                    raise ValueError("size differs from the sidecar")
                index = hnswlib.Index(space="cosine", dim=self.model.dim)
                index.load_index(str(self.path), max_elements=max(state.count, 1))
                if index.element_count != state.count:
                    raise ValueError("element count differs from the sidecar")
                self.hnsw, self.ef, self.recall = index, state.ef, state.recall
                self.hnsw.set_ef(self.ef)
                return self
            except (OSError, RuntimeError, ValueError) as exc:
                self.notice = f"index file for {self.model.name!r} is damaged ({exc}); rebuilt from vectors"
        elif state is not None or self.path.exists():
            self.notice = None  # behind the catalog: a normal, quiet rebuild
        self.build()
        if persist and not self.store.readonly:
            self.save()
        return self

    def build(self) -> None:
        ids, rows = self.store.embedded(self.model)
        vectors = self.store.vectors(self.model)[rows] if len(rows) else np.zeros((0, self.model.dim), "f4")
        index = hnswlib.Index(space="cosine", dim=self.model.dim)
        index.init_index(max_elements=max(len(ids) + 16, 64), ef_construction=EF_CONSTRUCTION, M=M,
                         allow_replace_deleted=False)
        index.set_num_threads(os.cpu_count() or 1)
        if len(ids):
            index.add_items(np.asarray(vectors, dtype=np.float32), ids)
        self.hnsw = index
        self.rebuilt = True
        self.tune()

    def tune(self, sample: int = 200, k: int = 10) -> None:
        """Pick the smallest ef whose recall@k against exact search on a sample meets the target."""
        assert self.hnsw is not None
        ids, rows = self.store.embedded(self.model)
        n = len(ids)
        if n <= k + 1:
            self.ef, self.recall = max(k, 16), 1.0
            self.hnsw.set_ef(self.ef)
            return
        vecs = normalise(self.store.vectors(self.model)[rows])
        rng = np.random.default_rng(0)
        pick = rng.choice(n, size=min(sample, n), replace=False)
        queries = vecs[pick]
        kk = min(k, n)
        exact = np.argsort(-(queries @ vecs.T), axis=1)[:, :kk]
        truth = [set(ids[row].tolist()) for row in exact]
        for ef in EF_LADDER:
            self.hnsw.set_ef(max(ef, kk))
            labels, _ = self.hnsw.knn_query(queries, k=kk)
            recall = float(np.mean([len(truth[i] & set(labels[i].tolist())) / kk for i in range(len(pick))]))
            if recall >= RECALL_TARGET or ef == EF_LADDER[-1]:
                self.ef, self.recall = max(ef, kk), recall
                return

    # ---- updates -----------------------------------------------------------------------------
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        assert self.hnsw is not None
        need = self.hnsw.element_count + len(ids)
        if need > self.hnsw.get_max_elements():
            self.hnsw.resize_index(max(need, int(self.hnsw.get_max_elements() * 1.5)))
        self.hnsw.add_items(np.asarray(vectors, dtype=np.float32), np.asarray(ids))
        self._live = None

    def remove(self, ids: list[int]) -> None:
        assert self.hnsw is not None
        present = set(self.hnsw.get_ids_list())
        for i in ids:
            if i in present:
                try:
                    self.hnsw.mark_deleted(int(i))
                except RuntimeError:
                    pass  # already deleted
        self._live = None

    def save(self) -> None:
        assert self.hnsw is not None
        self.model = self.store.model(self.model.name) or self.model
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".hnsw.tmp")
        self.hnsw.save_index(str(tmp))
        _fsync_replace(tmp, self.path)
        state = IndexState(self.model.generation, self.hnsw.element_count, self.ef, self.recall,
                           self.path.stat().st_size, _checksum(self.path))
        tmp_json = self.sidecar.with_suffix(".json.tmp")
        tmp_json.write_text(json.dumps(state.__dict__))
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
        if self._live is None:
            self._live = self.store.count_embedded(self.model)
        k = min(k, self._live)
        if k == 0:
            return np.zeros((len(queries), 0), np.int64), np.zeros((len(queries), 0), np.float32)
        self.hnsw.set_ef(max(self.ef, k))
        labels, distances = self.hnsw.knn_query(queries, k=k)
        return labels.astype(np.int64), (1.0 - distances).astype(np.float32)
