"""Concurrent use of one store: a second `vexplore index` refuses with a clear message while one runs,
a killed writer leaves no lock behind, and readers (the store API, a fresh Explorer, the one the TUI
holds for its whole session) see a consistent state at every moment of a write."""

from __future__ import annotations

import random
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.clirun import child_env, run_cli
from tests.indexrun import IndexRun, check_consistent
from vexplore.engine.index import VectorIndex
from vexplore.engine.lock import LockedError, WriterLock
from vexplore.engine.query import Explorer, open_explorer
from vexplore.engine.results import EmbeddedFile
from vexplore.engine.store import Store

pytestmark = pytest.mark.slow

N_FILES = 100
ARGS = ("--model", "minilm", "--batch-size", "4", "--workers", "0")
TOPICS = [
    "orbit of a comet around the sun",
    "sourdough bread rising in a warm oven",
    "a cello sonata in a small hall",
    "kernel threads waiting on a socket",
    "a ferry crossing to the lighthouse",
    "glaciers carving a canyon",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("concurrent") / "folder"
    root.mkdir()
    rng = random.Random(3)
    for i in range(N_FILES):
        topic = TOPICS[i % len(TOPICS)]
        (root / f"doc{i:03d}.txt").write_text(
            f"{topic}. " + " ".join(rng.choice(topic.split()) for _ in range(12))
        )
    return root


def _read_everything(folder: Path, store_dir: Path, held) -> tuple[int, object]:
    """One round of reading while a writer may be committing: the store API, a fresh Explorer and the
    long-lived one (opened on first use). Returns (file vectors seen, the held Explorer)."""
    vectors = check_consistent(folder, store_dir).get("minilm", {})
    if not vectors:
        return 0, held
    held = held or open_explorer(folder, store_dir)
    fresh = open_explorer(folder, store_dir)
    try:
        for explorer in (held, fresh):
            probe = sorted(vectors)[len(vectors) // 2]
            _, hits = explorer.neighbors(probe, k=5)
            files = explorer.store.files()
            assert hits and all(h.path in files for h in hits)
            assert all(-1.001 <= h.score <= 1.001 for h in hits)
    finally:
        fresh.store.close()
    return len(vectors), held


def test_one_writer_at_a_time_readers_see_a_consistent_store_and_a_killed_writer_leaves_no_lock(
    folder, tmp_path
):
    store_dir = tmp_path / "store"
    # Each file dawdles a tenth of a second in decoding (the hang tests' hook): the write then lasts
    # longer than the readers' first search takes to load its model, however fast embedding gets (a
    # faster writer once finished during that load, before a third partial view).
    slow = child_env() | {"VEXPLORE_TEST_HANG": "doc", "VEXPLORE_TEST_HANG_SECONDS": "0.1"}
    writer = IndexRun(folder, store_dir, *ARGS, env=slow)
    assert writer.wait_for(lambda e: e.kind == "plan") is not None

    # A second writer refuses at once, with one line that names the holder.
    second = run_cli("index", str(folder), "--store", str(store_dir), "--json", *ARGS)
    assert second.returncode == 2
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"vexplore: error: another `vexplore index` (pid {writer.proc.pid}, writing since "
    )
    assert lines[0].endswith(
        "is writing this store; wait for it to finish (`vexplore index --wait`) or stop it"
    )
    with pytest.raises(LockedError), WriterLock(store_dir):
        pass

    # Readers while it writes; half way, once they have had their look, it is killed (by a thread
    # watching its events), and the lock goes with it.
    looked = threading.Event()

    def kill_half_way() -> None:
        if writer.wait_for(lambda e: e.kind == "progress" and e.done >= N_FILES // 2) and looked.wait(60):
            writer.signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_half_way, daemon=True)
    killer.start()
    held, partial_views, searched = None, 0, False
    while writer.proc.poll() is None:
        seen, held = _read_everything(folder, store_dir, held)
        partial_views += 0 < seen < N_FILES
        if not searched and seen > 20:  # a free-text query mid-write loads only the text side
            _, hits = held.search("bread in the oven", k=3)
            assert hits and all(h.path in held.store.files() for h in hits)
            searched = True
        if searched and partial_views >= 3:
            looked.set()
        time.sleep(0.05)
    killer.join(timeout=60)
    writer.finish()
    assert searched and partial_views >= 3, "the readers never overlapped the write"
    assert 0 < len(check_consistent(folder, store_dir)["minilm"]) < N_FILES
    with WriterLock(store_dir):  # the lock file stays, the lock does not: nothing stale to clean up
        pass

    again = IndexRun(folder, store_dir, *ARGS)
    while again.proc.poll() is None:
        _, held = _read_everything(folder, store_dir, held)
        time.sleep(0.05)
    rc, summary = again.finish()
    assert rc == 0 and summary.failed == 0, again.stderr_text()[-3000:]
    assert len(check_consistent(folder, store_dir)["minilm"]) == N_FILES
    # The writer's own saved index is the current one: readers did not replace it with theirs.
    with Store(folder, store_dir, readonly=True) as store:
        index = VectorIndex(store, store.model("minilm")).open(persist=False)
        assert not index.rebuilt and index.hnsw.element_count == N_FILES
    # And the Explorer held all along catches up with the finished store.
    _, hits = held.neighbors("doc001.txt", k=N_FILES - 1)
    assert len(hits) == N_FILES - 1
    held.store.close()


def test_a_reader_never_saves_an_index_under_a_newer_generation_than_it_holds(tmp_path, monkeypatch):
    """A commit that lands while a reader builds its index (here: between reading the rows and tuning)
    must leave that index marked as older, so it is neither kept on disk as current nor trusted later."""
    from vexplore.engine.scan import scan

    root = tmp_path / "folder"
    root.mkdir()
    for i in range(30):
        (root / f"f{i:02d}.txt").write_text(f"file {i}")
    entries, _ = scan(root)
    store_dir = tmp_path / "store"
    rng = np.random.default_rng(0)

    def commit(store: Store, paths: list[str]) -> None:
        model = store.model("fake")
        store.commit_batch(
            model,
            [
                EmbeddedFile(store.file_by_path(p), v / np.linalg.norm(v), 1.0)
                for p, v in zip(paths, rng.normal(size=(len(paths), 8)).astype("f4"), strict=False)
            ],
        )

    writer = Store(root, store_dir, create=True)
    writer.sync_files(entries, {})
    writer.ensure_model("fake", "text", "test", ("text",), 8, False, {})
    paths = sorted(e.path for e in entries)
    commit(writer, paths[:20])

    original = VectorIndex.tune
    landed = []

    def tune_after_a_commit(self, *args, **kwargs):
        if not landed:  # an indexer commits after the reader read the rows, before it tunes
            commit(writer, paths[20:])
            landed.append(True)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VectorIndex, "tune", tune_after_a_commit)
    explorer = Explorer(Store(root, store_dir))
    model = explorer.model("fake")
    index = explorer.index(model)
    assert landed and index.hnsw.element_count == 20
    assert not (index.dir / "index.json").exists()  # not kept as if it were current
    fresh = explorer.index(model)  # the next query rebuilds with all 30, and keeps that one
    assert fresh is not index and fresh.hnsw.element_count == 30
    assert VectorIndex(explorer.store, explorer.store.model("fake")).open(persist=False).rebuilt is False
    writer.close()
    explorer.store.close()
