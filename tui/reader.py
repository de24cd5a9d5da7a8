"""Reading the store for the UI, off the UI thread.

SQLite connections stay on the thread that opened them, so every store read runs on one dedicated thread
(serial, like a database session). Nearest-neighbor lookups never run in this process: hnswlib holds the
GIL while it loads an index (seconds at a million files), so they go to a child process
(engine.query_process) that a third thread waits on; the query model loads and runs on a fourth, so a
first search never delays neighbors. Requests superseded by a newer one of the same kind return at once,
so scrolling fast never queues up work."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from vexplore.engine.errors import UserError
from vexplore.engine.query import Backend, Explorer, Hit
from vexplore.engine.query_process import QueryProcess
from vexplore.engine.store import FileRow, ModelRow, Store, StoreError
from vexplore.engine.table import FileTable

if TYPE_CHECKING:
    from vexplore.engine.search import SearchResult
    from vexplore.engine.terms import Term

HEAD_ROWS = 200  # more than any terminal shows
# While the indexer commits batch after batch, neighbors come from an index at most this many seconds
# behind, rather than from an index rebuilt (100k vectors: seconds of CPU) after every batch.
REOPEN_AFTER = 3.0


class Entry(NamedTuple):
    """One row of the file list (FileTable.row)."""

    id: int
    path: str
    modality: str
    size: int
    mtime_ns: int


@dataclass
class Details:
    """What the preview shows that comes from the store rather than the file."""

    file: FileRow
    thumb: bytes | None
    text: str | None
    embeddings: list[tuple[str, bool, str | None, list | None]] = field(default_factory=list)


@dataclass
class Neighbors:
    path: str
    model: str | None
    hits: list[Hit]
    message: str | None = None  # why there are no neighbors
    file_id: int | None = None
    notices: list[str] = field(default_factory=list)  # what the reader mended on the way (an index rebuilt)


class Reader:
    """All store access of the UI for one folder."""

    def __init__(self, root: Path, store_dir: Path, backend: Backend | None = None):
        self.root = root
        self.store_dir = store_dir
        self.backend = backend  # engine.query.Backend for knn queries (None: the local index)
        self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="vexplore-store")
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="vexplore-model")
        # Waits on the query process (which loads indexes for seconds) so the store thread never does.
        self._knn_thread = ThreadPoolExecutor(1, thread_name_prefix="vexplore-knn")
        self._explorer: Explorer | None = None  # only ever touched on the store thread
        self.queries = QueryProcess(root, store_dir, backend)  # its child starts at warm_up or first use
        self._tokens: dict[str, int] = {}
        self.loaded_models: set[str] = set()
        self.indexing = False  # set by the app while its indexer runs
        self._closed = False
        # Start reading now, while Textual sets up the terminal: the top of the list (a millisecond), so
        # the first paint never waits for 100k rows; the rest is read once that paint is done.
        self._head: Future | None = self._store_thread.submit(self._head_rows)

    @property
    def exists(self) -> bool:
        return (self.store_dir / "catalog.sqlite").exists()

    async def _run(self, fn: Callable, *args: Any) -> Any:
        return await self._on(self._store_thread, fn, *args)

    async def _on_knn_thread(self, fn: Callable, *args: Any) -> Any:
        return await self._on(self._knn_thread, fn, *args)

    async def _on(self, thread: ThreadPoolExecutor, fn: Callable, *args: Any) -> Any:
        if self._closed:  # the app is closing this reader, so whoever asks is on the way out too
            raise asyncio.CancelledError
        return await asyncio.get_running_loop().run_in_executor(thread, partial(fn, *args))

    def _bump(self, kind: str) -> int:
        self._tokens[kind] = self._tokens.get(kind, 0) + 1
        return self._tokens[kind]

    def _stale(self, kind: str, token: int) -> bool:
        return self._tokens.get(kind) != token

    def _explorer_or_none(self) -> Explorer | None:
        """The explorer, opened read-only on first use: the UI never writes (the indexer is the writer)."""
        if self._explorer is None and self.exists:
            try:
                self._explorer = Explorer(Store(self.root, self.store_dir, readonly=True), self.backend)
            except (StoreError, sqlite3.Error):
                return None  # the indexer is creating it right now: the next poll tries again
        return self._explorer

    # ---- requests (awaited on the UI's event loop) -------------------------------------------
    async def head(self) -> tuple[int, FileTable] | None:
        """(number of files, the first rows by path) for the first paint; None once used or with no store."""
        head, self._head = self._head, None
        return None if head is None else await asyncio.wrap_future(head)

    async def snapshot(self) -> tuple[int | None, FileTable | None]:
        """(data version, every file); (None, None) while there is no store yet.
        The version is read first, so a commit landing in between shows up at the next poll."""
        return await self._run(self._snapshot)

    async def states(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(file ids, 1 embedded / -1 failed; files not seen yet are left out), read after the list is on
        screen; None while there is no store yet."""
        return await self._run(lambda: ex.store.file_states() if (ex := self._explorer_or_none()) else None)

    async def version(self) -> int | None:
        return await self._run(self._version)

    async def models(self) -> list[ModelRow]:
        return await self._run(lambda: ex.models() if (ex := self._explorer_or_none()) else [])

    async def details(self, path: str) -> Details | None:
        return await self._run(self._details, self._bump("details"), path)

    async def neighbors(self, path: str, k: int, model: str | None) -> Neighbors | None:
        """Neighbors of path; None when a newer request overtook this one. The file is looked up on the
        store thread, its neighbors in the query process (waiting there while an index loads)."""
        token = self._bump("neighbors")
        asked = await self._run(self._neighbor_request, token, path, model)
        if not isinstance(asked, tuple):
            return asked  # overtaken (None), or why there is nothing to ask
        return await self._on_knn_thread(self._neighbors, token, path, k, *asked)

    async def errors(self) -> list[tuple[str, str, str]]:
        return await self._run(lambda: list(ex.store.errors()) if (ex := self._explorer_or_none()) else [])

    async def search_models(self, model: str | None) -> list[ModelRow]:
        """The models a free-text query goes to: the chosen one if it has a text tower, else every indexed
        model that has one (a text model for documents, CLIP for pictures...). Raises UserError when none."""
        return await self._run(self._search_models, model)

    async def search(self, query: str, k: int, model: ModelRow) -> list[Hit]:
        """Embed the query on the model thread (loading the model the first time), then look it up."""
        explorer = self._explorer
        if explorer is None:
            raise UserError("the store holds no vectors yet")
        loop = asyncio.get_running_loop()
        vector = await loop.run_in_executor(self._model_thread, explorer.query_vector, model, query)
        self.loaded_models.add(model.name)
        return await self._on_knn_thread(self.queries.nearest, model.name, vector, k)

    async def search_terms(
        self, terms: list[Term], k: int, model: str | None, mode: str | None
    ) -> SearchResult:
        """A combined query (text and files, keyword and meaning), answered by the query process."""
        result = await self._on_knn_thread(self.queries.search, terms, k, model, mode)
        if result.model is not None:
            self.loaded_models.add(result.model.name)
        return result

    def warm_up(self) -> None:
        """Start the query process and have it open every index now, in the background, so the first
        neighbors are instant (asked once the first files are on screen: it never delays that paint)."""
        if self.exists and not self._closed:
            self._knn_thread.submit(self._warm)

    def close(self) -> None:
        """Idempotent: the app closes its reader on quit and again as it unmounts."""
        if self._closed:
            return
        self._closed = True

        def shut() -> None:
            if self._explorer is not None:
                self._explorer.store.close()
                self._explorer = None

        self.queries.close()  # at once, even mid-load: a request waiting on it gives up
        self._store_thread.submit(shut)
        self._store_thread.shutdown(wait=False, cancel_futures=False)
        self._model_thread.shutdown(wait=False, cancel_futures=True)
        self._knn_thread.shutdown(wait=False, cancel_futures=True)

    # ---- on the store thread -----------------------------------------------------------------
    def _head_rows(self) -> tuple[int, FileTable] | None:
        ex = self._explorer_or_none()
        return None if ex is None else (ex.store.file_count(), ex.store.file_table(first=HEAD_ROWS))

    def _snapshot(self) -> tuple[int | None, FileTable | None]:
        ex = self._explorer_or_none()
        return (None, None) if ex is None else (ex.store.data_version(), ex.store.file_table())

    def _version(self) -> int | None:
        ex = self._explorer_or_none()
        return None if ex is None else ex.store.data_version()

    def _details(self, token: int, path: str) -> Details | None:
        ex = self._explorer_or_none()
        if ex is None or self._stale("details", token):
            return None
        f = ex.store.file_by_path(path)
        if f is None:
            return None
        thumb, text = ex.store.extras(f.id)
        return Details(f, thumb, text, ex.store.embeddings_of(f.id))

    def _neighbor_request(
        self, token: int, path: str, model: str | None
    ) -> tuple[int, str | None] | Neighbors | None:
        """(the file's id, the model to ask) for the query process, or a Neighbors saying why not."""
        if self._stale("neighbors", token):
            return None
        ex = self._explorer_or_none()
        if ex is None:
            return Neighbors(path, None, [], "nothing is indexed yet")
        f = ex.store.file_by_path(path)
        if f is None:
            return Neighbors(path, None, [], "this file is no longer in the index")
        if model is not None and not any(m.name == model and f.modality in m.modalities for m in ex.models()):
            model = None  # the chosen model does not embed this kind of file: use the one that does
        return f.id, model

    # ---- on the knn thread ---------------------------------------------------------------------
    def _neighbors(self, token: int, path: str, k: int, file_id: int, model: str | None) -> Neighbors | None:
        if self._stale("neighbors", token):
            return None
        try:
            used, hits, notices = self.queries.neighbors(
                path, k, model, REOPEN_AFTER if self.indexing else 0.0
            )
            return Neighbors(path, used, hits, file_id=file_id, notices=notices)
        except UserError as exc:
            if self._closed:
                return None  # closed while it waited: nobody is left to show it to
            return Neighbors(path, None, [], str(exc), file_id, self.queries.take_notices())

    def _warm(self) -> None:
        # nothing to open yet, a damaged index...: the first neighbors say so
        with contextlib.suppress(Exception):
            self.queries.warm()

    def _search_models(self, model: str | None) -> list[ModelRow]:
        ex = self._explorer_or_none()
        if ex is None:
            raise UserError("nothing is indexed yet")
        towers = [m for m in ex.models() if m.text_queries]
        chosen = [m for m in towers if m.name == model]
        if chosen:
            return chosen
        if not towers:
            ex.model(None, text_query=True)  # raises the engine's message: what is indexed, what to do
        return sorted(towers, key=lambda m: "text" not in m.modalities)  # documents first, then pictures
