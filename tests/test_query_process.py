"""The explorer's query process (engine/query_process.py) over real stores on disk: it answers as Explorer
does in-process, engine errors come back as themselves, a child that dies is replaced (with a notice), no
process outlives its owner, and a thread of the asking process keeps running while the child loads a
large index (what froze the UI when hnswlib ran in the UI's process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import hnswlib
import numpy as np
import pytest

from tests.clirun import run_cli
from vexplore.engine.errors import UserError
from vexplore.engine.index import VectorIndex, normalise
from vexplore.engine.query import Explorer
from vexplore.engine.query_process import QueryProcess
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.store import Store, StoreError

from .test_index import make_store


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process; None once it no longer exists."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether the process has exited and was not left a zombie by this one. (An orphan's zombie belongs to
    PID 1, which in a container may never reap it: that one counts as gone.)"""
    deadline = time.monotonic() + timeout
    while (stat := _stat(pid)) is not None and not (stat[0] == "Z" and stat[1] != os.getpid()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def children() -> set[int]:
    """This process's child processes, zombies included."""
    return {
        int(e.name)
        for e in Path("/proc").iterdir()
        if e.name.isdigit() and (stat := _stat(int(e.name))) is not None and stat[1] == os.getpid()
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, Path]:
    """600 clustered vectors in a real store with its index saved, as an index run leaves it."""
    tmp = tmp_path_factory.mktemp("query-process")
    store, _ = make_store(tmp)
    VectorIndex(store, store.models()[0]).open(persist=True)
    store.close()
    return tmp / "root", tmp / "store"


@pytest.fixture
def queries(small):
    qp = QueryProcess(*small)
    yield qp
    qp.close()


def test_answers_as_the_explorer_does(small, queries):
    explorer = Explorer(Store(*small, readonly=True))
    assert queries.warm() == ["synthetic"] and queries.take_notices() == []  # a saved, intact index
    assert [m.name for m in queries.models()] == ["synthetic"]
    for path, k in (("f0007.txt", 5), ("f0123.txt", 10), ("f0599.txt", 1)):
        model, hits = explorer.neighbors(path, k)
        used, got, notices = queries.neighbors(path, k)
        assert (used, notices) == (model.name, [])
        assert [h.path for h in got] == [h.path for h in hits] and path not in [h.path for h in got]
        np.testing.assert_allclose([h.score for h in got], [h.score for h in hits], rtol=1e-6)
    vector = explorer.store.file_vector(
        explorer.model("synthetic"), explorer.store.file_by_path("f0042.txt").id
    )
    got = queries.nearest("synthetic", vector, 3)
    assert [h.path for h in got] == [h.path for h in explorer.nearest(explorer.model("synthetic"), vector, 3)]
    assert got[0].path == "f0042.txt" and got[0].score == pytest.approx(1.0, abs=1e-4)
    explorer.store.close()


def test_statistics_come_from_the_child_with_their_progress(small, queries):
    """What the stats screen asks for: the same report as in process, each step reported as it starts."""
    from vexplore.engine.stats import StatsOptions, StatsReport, vector_stats

    options = StatsOptions(k=5, seed=3)
    here: list[str] = []
    there: list[str] = []
    with Store(*small, readonly=True) as store:
        local = vector_stats(Explorer(store), "synthetic", options, progress=here.append)
    remote = queries.stats("synthetic", options, progress=there.append)
    assert there == here and len(there) >= 5
    assert type(remote) is type(local) is StatsReport  # the typed report crosses the pipe as itself
    assert remote.to_json().keys() == local.to_json().keys() and remote.count == local.count == 600
    assert remote.hubness == local.hubness and remote.norms == local.norms
    with pytest.raises(UserError, match="not indexed here"):
        queries.stats("no-such-model", options)
    assert queries.neighbors("f0007.txt", 2)[0] == "synthetic"  # and it answers neighbors after


def test_user_errors_arrive_as_themselves(small, queries, tmp_path):
    explorer = Explorer(Store(*small, readonly=True))
    for args in (("nope.txt",), ("f0007.txt", 5, "no-such-model")):
        with pytest.raises(UserError) as local:
            explorer.neighbors(*args)
        with pytest.raises(UserError) as remote:
            queries.neighbors(*args)
        assert type(remote.value) is UserError and str(remote.value) == str(local.value)
    assert queries.neighbors("f0007.txt", 2)[0] == "synthetic"  # the child lives on after an error
    explorer.store.close()

    with pytest.raises(StoreError) as local:  # a subclass keeps its type
        Store(small[0], tmp_path / "nowhere", readonly=True)
    with QueryProcess(small[0], tmp_path / "nowhere") as missing, pytest.raises(StoreError) as remote:
        missing.models()
    assert str(remote.value) == str(local.value)


def test_a_killed_child_is_replaced_with_a_notice(queries):
    queries.neighbors("f0007.txt", 3)
    first = queries.pid
    os.kill(first, signal.SIGKILL)
    while queries._proc.poll() is None:  # noqa: SLF001 - wait for the death, so the test is not a race
        time.sleep(0.01)
    used, hits, notices = queries.neighbors("f0007.txt", 3)
    assert used == "synthetic" and len(hits) == 3
    assert notices == ["the query process had stopped (killed by SIGKILL); started a new one"]
    assert queries.pid != first and gone(first)  # reaped, not left a zombie
    assert queries.neighbors("f0007.txt", 3)[2] == []  # said once


def test_a_child_dying_mid_request_is_retried_once(queries):
    """Killed while a request waits on it (an OOM kill, a crash in hnswlib): the request is asked again."""
    result: list = []
    asking = threading.Thread(target=lambda: result.append(queries.warm()))
    asking.start()
    while queries.pid is None:
        time.sleep(0.001)
    first = queries.pid
    os.kill(first, signal.SIGKILL)  # it is still starting (0.2 s): the warm-up is in flight
    asking.join(30)
    assert result == [["synthetic"]]
    assert queries.take_notices() == ["the query process stopped (killed by SIGKILL); started a new one"]
    assert queries.pid != first and gone(first)


class CrashingBackend:
    """A backend whose every query crashes the process, as hnswlib does on a damaged index file."""

    def index(self, store, model):
        os.kill(os.getpid(), signal.SIGSEGV)


def test_a_child_that_crashes_twice_is_one_clear_line(small):
    with QueryProcess(*small, backend=CrashingBackend()) as crashing:
        with pytest.raises(
            UserError, match=r"^the query process died twice answering this \(killed by SIGSEGV\)$"
        ):
            crashing.neighbors("f0007.txt", 3)
        assert crashing.take_notices() == ["the query process stopped (killed by SIGSEGV); started a new one"]
        assert [m.name for m in crashing.models()] == ["synthetic"]  # what does not crash still works


def test_close_leaves_no_process_and_refuses_more(small):
    before = children()
    qp = QueryProcess(*small)
    qp.warm()
    pid = qp.pid
    assert pid in children()
    qp.close()
    assert gone(pid) and children() == before
    with pytest.raises(UserError, match="closed"):
        qp.neighbors("f0007.txt")
    qp.close()  # twice is fine


def test_the_child_exits_when_its_parent_dies(small):
    """SIGKILL leaves the parent no chance to close anything: the child sees its pipe close and exits."""
    script = (
        "import sys, time\nfrom vexplore.engine.query_process import QueryProcess\n"
        "qp = QueryProcess(sys.argv[1], sys.argv[2]); qp.warm(); print(qp.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, *map(str, small)], stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())
        parent.kill()
        parent.wait()
        assert gone(child, timeout=10)
    finally:
        parent.kill()
        parent.wait()


def test_a_milvus_backend_travels_to_the_child(synthetic, tmp_path):
    """The backend is pickled as its settings (a live client stays behind) and connects in the child."""
    import pickle

    from vexplore.engine.milvus import MilvusBackend

    uri = str(tmp_path / "lite.db")  # exported by the real CLI in its own process, which then lets go of it
    exported = run_cli("export", str(synthetic), "--milvus", uri)
    assert exported.returncode == 0, exported.stderr[-2000:]
    backend = MilvusBackend(uri)
    with QueryProcess(synthetic, synthetic / ".vexplore", backend) as queries:  # first: a Milvus Lite file
        used, got, notices = queries.neighbors("c03/item003.txt", 5)  # is open in one process at a time
    explorer = Explorer(Store(synthetic, synthetic / ".vexplore", readonly=True), backend)
    model, hits = explorer.neighbors("c03/item003.txt", 5)
    assert (used, notices) == (model.name, []) and [h.path for h in got] == [h.path for h in hits]
    assert backend._client is not None and pickle.loads(pickle.dumps(backend))._client is None  # noqa: SLF001
    explorer.store.close()
    backend.close()


# ---- the UI-freeze property --------------------------------------------------------------------
BIG, BIG_DIM = 400_000, 32


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> tuple[Path, Path]:
    """A store with 400k random vectors and a saved index that takes hnswlib ~0.4 s to load on this
    machine (with the GIL held). The index is built sparse (M=4) so the fixture takes seconds, not minutes;
    loading costs about the same per element whatever the graph."""
    tmp = tmp_path_factory.mktemp("query-process-big")
    root = tmp / "root"
    root.mkdir()
    rng = np.random.default_rng(0)
    vectors = normalise(rng.normal(size=(BIG, BIG_DIM)).astype(np.float32))
    with Store(root, tmp / "store", create=True) as store:
        with store.db:
            store.db.executemany(
                "INSERT INTO files(path, raw, modality, size, mtime_ns) VALUES (?,?,?,?,?)",
                ((f"d{i // 1000:03d}/f{i:06d}.txt", b"", "text", 1, 1) for i in range(BIG)),
            )
        model = store.ensure_model("random", "text", "test", ("text",), BIG_DIM, False, {})
        files = sorted(store.files().values(), key=lambda f: f.id)
        for start in range(0, BIG, 100_000):
            model = store.commit_batch(
                model,
                [
                    EmbeddedFile(f, v, 1.0)
                    for f, v in zip(
                        files[start : start + 100_000], vectors[start : start + 100_000], strict=True
                    )
                ],
            )
        index = VectorIndex(store, model)
        index.hnsw = hnswlib.Index(space="cosine", dim=BIG_DIM)
        index.hnsw.init_index(max_elements=BIG, ef_construction=10, M=4)
        index.hnsw.add_items(vectors, np.array([f.id for f in files]))
        index.generation = model.generation
        index.save()
    return root, tmp / "store"


def longest_gap_while(work) -> float:
    """The longest pause a thread ticking every 10 ms sees (the UI's event loop, in miniature) while work
    runs on another thread of this process."""
    ticks: list[float] = []
    done = threading.Event()

    def tick() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        work()
    finally:
        done.set()
        ticker.join()
    return float(np.max(np.diff(ticks)))


def test_loading_a_big_index_never_stalls_the_asking_process(big):
    with QueryProcess(*big) as queries:
        answers: list = []
        gap = longest_gap_while(
            lambda: answers.append((queries.warm(), queries.neighbors("d123/f123456.txt", 10)))
        )
        ((names, (used, hits, notices)),) = answers
        assert names == ["random"] and used == "random" and notices == []  # the saved index was loaded
        assert len(hits) == 10 and "d123/f123456.txt" not in [h.path for h in hits]
        assert gap < 0.2, f"a thread of the asking process stalled {gap:.3f} s"


# ---- in the explorer -----------------------------------------------------------------------------
@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_the_explorer_asks_its_child_and_leaves_none_behind(small):
    from vexplore.tui import graphics
    from vexplore.tui.app import VexploreApp

    from .tui_corpus import wait_for

    graphics.prepare(True)
    before = children()
    app = VexploreApp(*small)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.neighbors.hits, what="neighbors")
        pid = app.reader.queries.pid
        assert children() - before == {pid}
        explorer = Explorer(Store(*small, readonly=True))
        _, hits = explorer.neighbors(screen.current, screen.k)
        assert [h.path for h in screen.neighbors.hits] == [h.path for h in hits]
        assert app.reader._explorer._indexes == {}  # noqa: SLF001 - no index was opened in the UI's process
        explorer.store.close()
    assert gone(pid) and children() == before
