"""Neighbor queries (and the statistics and comparisons that need the same indexes) answered by a child
process, so that the process asking never runs hnswlib.

hnswlib holds the GIL while it loads an index (1.7 s at 1M × 384) or builds one from stored vectors, and
in the explorer's process that froze the UI. The child runs engine.query.Explorer (the one home of the
query logic) over the same store, read-only with its own SQLite connection; the parent sends one request
at a time over a multiprocessing Pipe and blocks on it, which releases the GIL. The child is a fresh
interpreter (spawned, never forked: the parent has threads) and exits when its end of the pipe closes, so
it cannot outlive the parent. It is started with subprocess rather than multiprocessing.Process: the
spawn start method re-runs the parent's __main__ script in the child (the `vexplore` console script, a
user's script without a main guard), and also starts a resource-tracker process; neither is wanted here.

Protocol: the parent first sends (root, store_dir, backend), then (operation, args) per request; the child
answers ("ok", result, notices) or ("error", exception, notices), after any number of ("progress", step,
[]) for a long request (statistics, the audit). Exceptions travel pickled, so a
UserError arrives as a UserError with the same message (and no traceback)."""

from __future__ import annotations

import contextlib
import multiprocessing
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import UserError
from .hang_hook import hang_here
from .heartbeat import hang_seconds
from .memory import trim_heap
from .query import Backend, Explorer, Hit
from .store import ModelRow, Store

if TYPE_CHECKING:  # the reports' modules load with the first report, not with the explorer
    from .audit.report import AuditReport
    from .audit.run import AuditOptions
    from .compare import CompareReport
    from .search import SearchResult
    from .stats import StatsOptions
    from .stats.schema import StatsReport
    from .terms import Term

_CHILD = "from vexplore.engine.query_process import main; main()"


class QueryProcess:
    """A child process holding an Explorer (and its open indexes) over one store. Thread-safe: requests
    from several threads take turns. A child that died is replaced once per request, with a notice."""

    def __init__(self, root: Path, store_dir: Path, backend: Backend | None = None) -> None:
        self.root, self.store_dir, self.backend = Path(root), Path(store_dir), backend
        self.notices: list[str] = []  # what the caller should tell the user: an index rebuilt, a restart
        self._lock = threading.Lock()  # one request at a time
        self._proc_lock = (
            threading.Lock()
        )  # guards _proc and _closed, so close() never misses a starting child
        self._proc: subprocess.Popen | None = None
        self.hang_after = hang_seconds()  # no answer and no progress this long: the child is stuck
        self._conn: Connection | None = None
        self._closed = False

    # ---- requests (the first one starts the child) ----------------------------------------------
    def warm(self) -> list[str]:
        """Open every model's index, so the first real query is answered at once; the names opened."""
        return self._call("warm")

    def models(self) -> list[ModelRow]:
        return self._call("models")

    def neighbors(
        self, path: str, k: int = 10, model_name: str | None = None, reopen_after: float = 0.0
    ) -> tuple[str, list[Hit], list[str]]:
        """(the model that answered, the k nearest files, notices for the user) as Explorer.neighbors."""
        name, hits = self._call("neighbors", path, k, model_name, reopen_after)
        return name, hits, self.take_notices()

    def nearest(self, model_name: str, vector: np.ndarray, k: int, exclude: int | None = None) -> list[Hit]:
        return self._call("nearest", model_name, np.asarray(vector, dtype=np.float32), k, exclude)

    def search(self, terms: list[Term], k: int, model_name: str | None, mode: str | None) -> SearchResult:
        """A combined query (engine.search) answered in the child: a file given as a term is embedded
        there, by a model the child loads once."""
        return self._call("search", terms, k, model_name, mode)

    def stats(
        self,
        model_name: str | None,
        options: StatsOptions | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> StatsReport:
        """engine.stats.vector_stats over the child's open index (no second copy of it in this process);
        progress is called with each step's name as the child reaches it."""
        return self._call("stats", model_name, options, progress=progress)

    def audit(
        self,
        model_name: str | None,
        options: AuditOptions | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> AuditReport:
        """engine.audit.audit in the child, over its open index, with progress as stats has it."""
        return self._call("audit", model_name, options, progress=progress)

    def compare(self, model_a: str, model_b: str, k: int = 10) -> CompareReport:
        """engine.compare.compare_models, in the child."""
        return self._call("compare", model_a, model_b, k)

    def take_notices(self) -> list[str]:
        out, self.notices = self.notices, []
        return out

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.pid

    def close(self) -> None:
        """Stop the child (at once: it only reads, so nothing is lost) and reap it. Idempotent."""
        with self._proc_lock:
            self._closed = True
            proc, conn = self._proc, self._conn
        if proc is not None:
            _stop(proc)  # a request blocked on the pipe now gets EOF and gives up (closed)
        if self._lock.acquire(timeout=5):
            try:
                if conn is not None:
                    conn.close()
                self._proc = self._conn = None
            finally:
                self._lock.release()

    def __enter__(self) -> QueryProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the parent's side of the pipe -------------------------------------------------------
    def _call(self, op: str, *args: Any, progress: Callable[[str], None] | None = None) -> Any:
        with self._lock:
            for attempt in (1, 2):
                if self._closed:
                    raise UserError("the query process is closed")
                if self._proc is not None and self._proc.poll() is not None:
                    self.notices.append(f"the query process had stopped ({self._death()}); started a new one")
                try:
                    if self._proc is None:
                        self._spawn()
                    assert self._conn is not None
                    self._conn.send((op, args))
                    status, value, notices = self._recv()
                    while status == "progress":  # a long request reports its steps before it answers
                        if progress is not None:
                            progress(value)
                        status, value, notices = self._recv()
                except _Hung:  # no answer and no progress for hang_after: stuck, not slow
                    why = f"no answer for {self.hang_after:.0f}s"
                    self._death()
                    if attempt == 2:
                        raise UserError(f"the query process hung twice answering this ({why})") from None
                    self.notices.append(f"the query process hung ({why}); stopped it and started a new one")
                    continue
                except (EOFError, OSError):  # it died on the way (killed, out of memory, a crash in hnswlib)
                    if self._closed:
                        raise UserError("the query process is closed") from None
                    why = self._death()
                    if attempt == 2:
                        raise UserError(f"the query process died twice answering this ({why})") from None
                    self.notices.append(f"the query process stopped ({why}); started a new one")
                    continue
                self.notices.extend(notices)
                if status == "error":
                    raise value
                return value
        raise AssertionError("unreachable")

    def _recv(self) -> tuple:
        """The child's next message, or _Hung when none comes within hang_after."""
        assert self._conn is not None
        if not self._conn.poll(self.hang_after):
            raise _Hung
        return self._conn.recv()

    def _spawn(self) -> None:
        parent, child = multiprocessing.Pipe()
        try:
            with self._proc_lock:
                if self._closed:
                    raise UserError("the query process is closed")
                # stdout/stderr: nowhere, the parent's terminal may be a full-screen UI (errors come back
                # over the pipe)
                self._proc = subprocess.Popen(
                    [sys.executable, "-c", _CHILD, str(child.fileno())],
                    pass_fds=(child.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                self._conn = parent
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()  # only the child holds its end: when it dies, recv here sees EOF at once
        # The parent's import path goes first (as multiprocessing's spawn does), so the backend unpickles
        # there even when its class lives outside the installed packages.
        parent.send((sys.path, str(self.root), str(self.store_dir), pickle.dumps(self.backend)))

    def _death(self) -> str:
        """Why the child is gone, for a notice; forgets it (and reaps it) so the next request starts one."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is None:
            return "not running"
        code = _stop(proc)
        if code is not None and code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit status {code}"


class _Hung(Exception):
    pass


def _stop(proc: subprocess.Popen) -> int | None:
    """End and reap the child: SIGTERM (it only reads, so nothing is lost), then SIGKILL if it lingers.
    Returns its exit code (negative: the signal that ended it)."""
    for end in (proc.terminate, proc.kill):
        if proc.poll() is not None:
            break
        end()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(2)
    return proc.returncode


# ---- the child ----------------------------------------------------------------------------------
def _warm(ex: Explorer) -> list[str]:
    names = []
    for model in ex.models():
        ex.index(model)
        names.append(model.name)
    return names


def _neighbors(
    ex: Explorer, path: str, k: int, model_name: str | None, reopen_after: float
) -> tuple[str, list[Hit]]:
    ex.reopen_after = reopen_after
    model, hits = ex.neighbors(path, k, model_name)
    return model.name, hits


def _nearest(ex: Explorer, model_name: str, vector: np.ndarray, k: int, exclude: int | None) -> list[Hit]:
    return ex.nearest(ex.model(model_name), vector, k, exclude)


def search_terms(
    ex: Explorer, terms: list[Term], k: int, model: str | None, mode: str | None
) -> SearchResult:
    from .search import search

    return search(ex, terms, k, model, mode)


def _stats(
    ex: Explorer, model_name: str | None, options: StatsOptions | None, progress: Callable[[str], None]
) -> StatsReport:
    from .stats import vector_stats

    try:
        return vector_stats(ex, model_name, options, progress=progress)
    finally:
        _release(ex)


def _audit(
    ex: Explorer, model_name: str | None, options: AuditOptions | None, progress: Callable[[str], None]
) -> AuditReport:
    from .audit.run import audit

    try:
        return audit(ex, model_name, options, progress=progress)
    finally:
        _release(ex)


def _compare(ex: Explorer, model_a: str, model_b: str, k: int) -> CompareReport:
    from .compare import compare_models

    try:
        return compare_models(ex, model_a, model_b, k)
    finally:
        _release(ex)


def _release(ex: Explorer) -> None:
    """After a report over every vector, go back to the browsing footprint: the vector files unmapped and
    the report's freed arrays handed back (at 1M the process otherwise stays 1.7 GB above it)."""
    import gc

    ex.store.forget_vectors()
    gc.collect()
    trim_heap()


OPERATIONS: dict[str, Callable[..., Any]] = {
    "warm": _warm,
    "models": lambda ex: ex.models(),
    "neighbors": _neighbors,
    "nearest": _nearest,
    "search": lambda ex, terms, k, model, mode: search_terms(ex, terms, k, model, mode),
    "stats": _stats,
    "audit": _audit,
    "compare": _compare,
}
REPORTS_PROGRESS = {"stats", "audit"}  # operations that take a progress callback as their last argument


def main() -> None:
    """The child's entry point: its end of the pipe is the file descriptor in argv[1]."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the terminal is the parent's to handle
    conn = Connection(int(sys.argv[1]))
    try:
        sys.path[:], root, store_dir, backend = conn.recv()
    except (EOFError, OSError):
        return
    serve(conn, root, store_dir, pickle.loads(backend))


def serve(conn: Connection, root: str, store_dir: str, backend: Backend | None) -> None:
    """Answer requests until the pipe closes (the parent closed it, or died)."""
    explorer: Explorer | None = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        op, args = request
        hang_here(f"{op} {args[0] if args else ''}")
        try:
            if explorer is None:
                explorer = Explorer(Store(Path(root), Path(store_dir), readonly=True), backend)
            if op in REPORTS_PROGRESS:
                args = (*args, lambda step: conn.send(("progress", step, [])))
            reply: tuple = ("ok", OPERATIONS[op](explorer, *args))
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller, as itself
            reply = ("error", _portable(exc))
        notices: list[str] = []
        if explorer is not None:
            notices, explorer.notices[:] = list(explorer.notices), []
        try:
            try:
                conn.send((*reply, notices))
            except OSError:
                raise
            except Exception as exc:  # noqa: BLE001 - an answer that does not pickle (send pickles first)
                conn.send(
                    ("error", RuntimeError(f"the query process could not send its answer: {exc}"), notices)
                )
        except OSError:  # the parent is gone
            return


def _portable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling as the same type (UserError, StoreError,
    sqlite3.Error...), else a RuntimeError naming it: either way one line, no traceback."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        if type(back) is type(exc) and str(back) == str(exc):
            return back
    except Exception:  # noqa: BLE001 - an exception type that does not pickle
        pass
    return RuntimeError(f"{type(exc).__name__}: {exc}")
