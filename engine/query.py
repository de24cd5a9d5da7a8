"""Reading the store: nearest neighbors of a file, free-text search, which model answers what.

Neighbors need no ML imports at all; a text query loads only the model that embeds it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .errors import UserError
from .index import EXACT_MAX, VectorIndex
from .store import ModelRow, Store

if TYPE_CHECKING:
    from .audit.graph import Progress
    from .audit.graphfile import StoredGraph
    from .audit.graphstore import Graph
    from .models.base import Adapter


@dataclass
class Hit:
    path: str
    score: float
    labels: list | None = None
    why: str | None = None  # a search's reason beyond the score (keyword rank, per-term cosines)
    snippet: str | None = None  # the passage a keyword matched (keywords.MARK_OPEN/CLOSE around words)

    def as_json(self) -> dict:
        out = {"path": self.path, "score": round(float(self.score), 6)}
        if self.labels:
            out["labels"] = self.labels
        return out


class Backend(Protocol):
    """Another home for the vectors (milvus.MilvusBackend): per model, an object with VectorIndex.knn."""

    def index(self, store: Store, model: ModelRow) -> VectorIndex: ...


class Explorer:
    """Queries over one store; keeps indexes open between queries (the TUI holds one of these)."""

    def __init__(self, store: Store, backend: Backend | None = None, reopen_after: float = 0.0):
        self.store = store
        self.backend = backend  # None: the local hnswlib index; else e.g. milvus.MilvusBackend
        # A reader watching a store being indexed may keep an index that is behind the catalog for this
        # many seconds instead of rebuilding it after every committed batch.
        self.reopen_after = reopen_after
        self._indexes: dict[str, VectorIndex] = {}
        self._opened: dict[str, float] = {}
        self._adapters: dict[str, Adapter] = {}  # loaded for text queries, by model name
        self._file_adapters: dict[str, Adapter] = {}  # loaded whole, to embed a query file, by model name
        self._exact: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}  # model -> (generation, ids, x)
        self.notices: list[str] = []  # an index found missing or damaged and rebuilt: for the user to see
        self._graphs: dict[str, StoredGraph] = {}  # model -> its neighbor graph of one generation
        self._graph_read: dict[str, int] = {}  # model -> the generation whose saved graph was last looked for
        # Imported vectors were made elsewhere: the model the user names embeds text queries into their
        # space (every stored model then takes text queries). None: each model embeds its own.
        self.query_model: str | None = None

    def models(self) -> list[ModelRow]:
        rows = [m for m in self.store.models() if m.rows > 0]
        if self.query_model is not None:
            rows = [replace(m, text_queries=True) for m in rows]
        return rows

    def model(self, name: str | None, modality: str | None = None, text_query: bool = False) -> ModelRow:
        """The model asked for, else the one that fits the query's modality: a model made for that modality
        (its first modality) before one that also handles it, then the first indexed."""
        models = self.models()
        if not models:
            raise UserError("the store holds no vectors yet: run `vexplore index` first")
        if name is not None:
            for m in models:
                if m.name == name:
                    return m
            raise UserError(
                f"model {name!r} is not indexed here; indexed: {', '.join(m.name for m in models)}"
            )
        fits = [
            m
            for m in models
            if (text_query and m.text_queries and "text" in m.modalities)
            or (modality is not None and modality in m.modalities)
        ]
        if text_query and not fits:
            fits = [m for m in models if m.text_queries]
        if text_query and not fits:
            towerless = ", ".join(f"{m.name} ({'/'.join(m.modalities)})" for m in models)
            raise UserError(
                f"no indexed model has a text tower to embed a text query (indexed: {towerless}); "
                "index with a CLIP model (--model clip-b32) to search images by text"
            )
        if not fits:
            what = f"{modality} files"
            indexed = ", ".join(f"{m.name} ({'/'.join(m.modalities)})" for m in models)
            raise UserError(f"no indexed model handles {what}; indexed: {indexed}")
        primary = "text" if text_query else modality
        return sorted(fits, key=lambda m: m.modalities[0] != primary)[0]

    def index(self, model: ModelRow) -> VectorIndex:
        if self.backend is not None:
            return self.backend.index(self.store, model)
        current = self.store.model(model.name) or model
        cached = self._indexes.get(model.name)
        fresh_enough = cached is not None and time.monotonic() - self._opened[model.name] < self.reopen_after
        if cached is None or (cached.generation != current.generation and not fresh_enough):
            cached = VectorIndex(self.store, current).open(persist=False)
            if cached.notice:
                self.notices.append(cached.notice)
            if cached.rebuilt and not self.store.readonly:
                self._save_if_idle(cached)
            self._indexes[model.name] = cached
            self._opened[model.name] = time.monotonic()
        return cached

    def _save_if_idle(self, index: VectorIndex) -> None:
        """Keep a rebuilt index for next time, but only while no indexer writes the store (it saves its own
        index when it finishes) and only if no commit landed since this one was built."""
        from .lock import LockedError, WriterLock

        try:
            with WriterLock(self.store.dir):
                now = self.store.model(index.model.name)
                if now is not None and now.generation == index.generation:
                    index.save()
        except (LockedError, OSError):
            pass

    def _hits(
        self, model: ModelRow, ids: np.ndarray, scores: np.ndarray, exclude: int | None, k: int
    ) -> list[Hit]:
        keep = [(i, s) for i, s in zip(ids.tolist(), scores.tolist(), strict=False) if i != exclude][:k]
        found = self.store.hits_of(model, [i for i, _ in keep])
        return [Hit(found[i][0], s, found[i][1]) for i, s in keep if i in found]

    def neighbors(self, path: str, k: int = 10, model_name: str | None = None) -> tuple[ModelRow, list[Hit]]:
        f = self.store.file_by_path(path)
        if f is None:
            raise UserError(f"{path}: not in the index (is the path relative to the folder?)")
        model = self.model(model_name, modality=f.modality)
        vector = self.store.file_vector(model, f.id)
        if vector is None:
            reason = next((r for p, m, r in self.store.errors(model) if p == path), None)
            raise UserError(
                f"{path}: has no vector for model {model.name!r}" + (f" ({reason})" if reason else "")
            )
        hits = self._graph_hits(model, f.id, k) if self.backend is None else None
        return model, hits if hits is not None else self.nearest(model, vector, k, exclude=f.id)

    def neighbor_graph(
        self,
        model: ModelRow,
        ids: np.ndarray,
        x: np.ndarray,
        k: int,
        progress: Progress | None = None,
        build: bool = True,
    ) -> Graph | None:
        """Every file's k nearest (ids ascending, x their unit vectors, model as read before them): the
        store's saved graph when current, else updated or built and saved (audit/graphstore.py). Kept here
        too, so single-file neighbors come from it while the catalog stays at this generation."""
        from .audit.graphstore import model_graph, stored

        got = model_graph(self.store, model, ids, x, k, lambda: self.index(model), progress, build=build)
        if got is not None:
            self._graphs[model.name] = stored(got.graph, model.generation, np.zeros(0, np.uint64), got.ef)
            if got.notice:
                self.notices.append(got.notice)
        return got

    def _graph_hits(self, model: ModelRow, file_id: int, k: int) -> list[Hit] | None:
        """A file's k nearest from a graph of the catalog's current generation (held, or saved in the
        store), when it is wide enough and the model too big for exact search; None sends the query to
        exact search (whose answer a graph would repeat, bar float rounding among near-ties) or the index."""
        from .audit import graphfile

        self.index(model)  # opened as for any neighbor query: a missing or damaged one is mended
        row = self.store.model(model.name) or model
        if row.rows <= EXACT_MAX:
            return None
        now = row.generation
        held = self._graphs.get(model.name)
        if (held is None or held.generation != now) and self._graph_read.get(model.name) != now:
            self._graph_read[model.name] = now
            saved, _problem = graphfile.read(self.store.model_dir(model), now)
            if saved is not None:
                self._graphs[model.name] = held = saved
        if held is None or held.generation != now or k > held.k:
            return None
        at = int(np.searchsorted(held.ids, file_id))
        if at >= len(held.ids) or held.ids[at] != file_id:
            return None
        return self._hits(model, held.neighbors[at, :k], held.sims[at, :k], None, k)

    def nearest(self, model: ModelRow, vector: np.ndarray, k: int, exclude: int | None = None) -> list[Hit]:
        """The k files nearest to any vector of the model's space (a file's, a query's), minus exclude."""
        ids, scores = self.knn(model, vector, k + (exclude is not None))
        return self._hits(model, ids[0], scores[0], exclude, k)

    def knn(self, model: ModelRow, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """([m, k] file ids, [m, k] cosines) of the files nearest each of m vectors (any length), nearest
        first: exact where the model holds few enough vectors for that to be cheap (ties by file id),
        else from the index. Every caller that asks for neighbors asks here."""
        index = self.index(model)  # opened either way: a missing or damaged one is mended, with a notice
        exact = self._exact_space(model) if self.backend is None else None
        if exact is None:
            return index.knn(vectors, k)
        return exact_knn_of(*exact, np.atleast_2d(np.asarray(vectors, np.float32)), k)

    def _exact_space(self, model: ModelRow) -> tuple[np.ndarray, np.ndarray] | None:
        """(file ids, their vectors) of a model small enough for exact search, read once per commit."""
        current = self.store.model(model.name) or model
        if current.rows > EXACT_MAX:  # rows count window vectors too: a bound that is never too low
            cached = None
        else:
            cached = self._exact.get(model.name)
            if cached is None or cached[0] != current.generation:
                ids, rows = self.store.embedded(current)
                cached = (current.generation, ids, np.asarray(self.store.vectors(current)[rows]))
                self._exact[model.name] = cached
        return None if cached is None else (cached[1], cached[2])

    def all_neighbors(
        self, k: int = 10, model_name: str | None = None
    ) -> Iterator[tuple[str, str, list[Hit]]]:
        """(path, model, neighbors) for every embedded file of every model (or the one asked for)."""
        models = [self.model(model_name)] if model_name else self.models()
        for model in models:
            ids, rows = self.store.embedded(model)
            if not len(ids):
                continue
            paths = self.store.paths_by_id(ids)
            vectors = self.store.vectors(model)
            for start in range(0, len(ids), 512):
                chunk_ids = ids[start : start + 512]
                got, scores = self.knn(model, np.asarray(vectors[rows[start : start + 512]]), k + 1)
                for fid, g, s in zip(chunk_ids, got, scores, strict=False):
                    yield paths[int(fid)], model.name, self._hits(model, g, s, int(fid), k)

    def search(
        self, query: str, k: int = 10, model_name: str | None = None, device: str = "auto"
    ) -> tuple[ModelRow, list[Hit]]:
        if not query.strip():
            raise UserError("empty query")
        model = self.model(model_name, text_query=True)
        if not model.text_queries:
            raise UserError(
                f"model {model.name!r} embeds {'/'.join(model.modalities)} and has no text tower, "
                "so it cannot be searched by text; index with a text or CLIP model"
            )
        return model, self.nearest(model, self.query_vector(model, query, device), k)

    def query_vector(self, model: ModelRow, query: str, device: str = "auto") -> np.ndarray:
        name = self.query_model or model.name
        adapter = self._adapters.get(name)
        if adapter is None:
            from .devices import pick_device
            from .models import registry

            adapter = registry.create(registry.resolve(name))
            # only the text tower of a two-tower model
            adapter.load_for_queries(pick_device(device, adapter.needs_torch))
            self._adapters[name] = adapter
        vector = adapter.embed_text([query])[0]
        if len(vector) != model.dim:
            raise UserError(f"model {name!r} gives {len(vector)} dimensions, {model.name!r} has {model.dim}")
        return vector

    def file_adapter(self, model: ModelRow, device: str = "auto") -> Adapter:
        """The whole model (not only a text tower), loaded once, to embed a file given as a query."""
        adapter = self._file_adapters.get(model.name)
        if adapter is None:
            from .devices import pick_device
            from .models import registry

            adapter = registry.create(registry.resolve(model.name))
            adapter.load(pick_device(device, adapter.needs_torch))
            self._file_adapters[model.name] = adapter
        return adapter


def open_explorer(root: Path, store: str | Path | None = None, backend: Backend | None = None) -> Explorer:
    """backend: where knn queries go (None: the local hnswlib index; see milvus.MilvusBackend)."""
    from .store import find_store_dir

    if not root.exists():
        raise UserError(f"{root}: no such folder")
    directory = find_store_dir(root, store)
    return Explorer(Store(root, directory, readonly=not _writable(directory)), backend)


def _writable(directory: Path) -> bool:
    import os

    return os.access(directory, os.W_OK)


def exact_knn_of(
    ids: np.ndarray, x: np.ndarray, queries: np.ndarray, k: int, block_bytes: int = 1 << 26
) -> tuple[np.ndarray, np.ndarray]:
    """The k rows of x (unit length) nearest each query by cosine, as (file ids, scores), nearest first,
    ties by file id: the answer an index approximates. Queries need not be unit length (a text tower's
    is not); similarities are held one block of queries at a time."""
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    k = min(k, len(ids))
    out_ids = np.empty((len(q), k), ids.dtype)
    out_scores = np.empty((len(q), k), np.float32)
    step = max(1, block_bytes // (4 * max(len(ids), 1)))
    for start in range(0, len(q), step):
        scores = q[start : start + step] @ x.T
        out_ids[start : start + step], out_scores[start : start + step] = _best(scores, ids, k)
    return out_ids, out_scores


def _best(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k best columns as (ids, scores), ties by id, a tie at the k-th place included: every
    column that reaches the row's k-th score is a candidate, so which tied files make the cut is the
    rule's choice, not the partition's (the neighbor graph breaks ties the same way)."""
    b = len(scores)
    if k == 0:
        return np.zeros((b, 0), ids.dtype), np.zeros((b, 0), np.float32)
    kth = np.partition(scores, len(ids) - k, axis=1)[:, len(ids) - k]
    r, c = np.nonzero(scores >= kth[:, None])
    v = scores[r, c]
    order = np.lexsort((ids[c], -v, r))
    r, c, v = r[order], c[order], v[order]
    keep = np.arange(len(r)) - np.searchsorted(r, np.arange(b))[r] < k
    return ids[c[keep]].reshape(b, k), v[keep].reshape(b, k).astype(np.float32)
