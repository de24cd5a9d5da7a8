"""Compaction of vector files on real stores indexed by the real pipeline (the tiny random text model):
the file shrinks to the live rows while every vector, window vector and neighbor stays the same and the
index is not rebuilt; a store held open by a reader is left alone; a writer killed at each step leaves
a store that reads the same and is tidied by the next run; a catalog from before compaction still works."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from vexplore.engine import compaction, migrations
from vexplore.engine.events import Event
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.query import Explorer, open_explorer
from vexplore.engine.store import Store, StoreError

from .clirun import child_env, run_cli
from .stats_corpus import tiny_model

N_FILES = 40
MIN_ROWS = 20  # the tests' stores hold tens of rows, not thousands


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    return str(tiny_model(tmp_path_factory.mktemp("compaction-model")))


def write(root: Path, i: int, seed: int) -> None:
    """Short texts of random letters, and every fifth one long enough for three windows."""
    rng = random.Random(seed * 1000 + i)
    n = 600 if i % 5 == 0 else rng.randint(5, 30)
    (root / f"g{i % 3}").mkdir(parents=True, exist_ok=True)
    text = " ".join(rng.choice("abcdefghijklmnop") for _ in range(n))
    (root / f"g{i % 3}" / f"d{i:02d}.txt").write_text(text)


def edited_store(base: Path, model: str) -> tuple[Path, Path]:
    """A store whose vector file holds the rows of edited and removed files next to the live ones (with the
    default thresholds, which these few rows do not reach, nothing is compacted yet)."""
    root, store_dir = base / "docs", base / "store"
    for i in range(N_FILES):
        write(root, i, seed=0)
    index_folder(root, store_dir, Options(models=[model], workers=0))
    for i in range(0, N_FILES, 3):
        write(root, i, seed=1)
    for i in (1, 7):
        (root / f"g{i % 3}" / f"d{i:02d}.txt").unlink()
    summary = index_folder(root, store_dir, Options(models=[model], workers=0))
    assert summary.compaction == [] and summary.embedded == 14
    return root, store_dir


def snapshot(root: Path, store_dir: Path) -> dict:
    """What a reader gets: each file's vector and window vectors (bytes), its neighbors, the model's file."""
    with Store(root, store_dir, readonly=True) as store:
        model = store.models()[0]
        explorer = Explorer(store)
        index = explorer.index(model)
        index.ef = 4 * N_FILES  # exhaustive: the same items must give the very same answers
        files = store.files()
        vectors = {
            p: (store.file_vector(model, f.id).tobytes(), store.window_vectors(model, f.id).tobytes())
            for p, f in files.items()
        }
        neighbors = {p: [(h.path, h.score) for h in explorer.neighbors(p, 5)[1]] for p in sorted(files)}
        return {
            "vectors": vectors,
            "neighbors": neighbors,
            "rows": model.rows,
            "live": store.live_count(model),
            "path": store.vector_path(model),
            "rebuilt": index.rebuilt,
        }


def index_files(store_dir: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (store_dir / "models").glob("*/index.*")}


def test_edits_are_compacted_to_the_live_rows_with_the_same_vectors_and_index(tmp_path, model, monkeypatch):
    root, store_dir = edited_store(tmp_path, model)
    before, saved = snapshot(root, store_dir), index_files(store_dir)
    assert before["path"].name == "vectors.f32" and not before["rebuilt"]
    assert before["rows"] - before["live"] >= MIN_ROWS  # garbage: edited files' old rows, removed files' rows
    windowed = [p for p, (_, w) in before["vectors"].items() if len(w) > 4 * 32]
    assert len(windowed) >= 5

    monkeypatch.setattr(compaction, "MIN_ROWS", MIN_ROWS)
    events: list[Event] = []
    summary = index_folder(root, store_dir, Options(models=[model], workers=0), events.append)
    [done] = summary.compaction
    assert (done.rows_before, done.rows_after) == (before["rows"], before["live"])
    assert [e for e in events if e.kind in ("compacted", "notice")] == [done]
    after = snapshot(root, store_dir)
    assert after["path"].name == "vectors-1.f32" and not before["path"].exists()
    assert after["path"].stat().st_size == before["live"] * 32 * 4 == after["rows"] * 32 * 4
    assert after["vectors"] == before["vectors"]  # byte for byte, windows included
    assert after["neighbors"] == before["neighbors"]
    assert not after["rebuilt"] and index_files(store_dir) == saved  # the index by file id stays valid
    assert sorted(p.name for p in after["path"].parent.glob("vectors*")) == ["vectors-1.f32"]
    with sqlite3.connect(store_dir / "catalog.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("2",)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", 1)  # a vexplore from before compaction refuses it
    with pytest.raises(StoreError, match="written by a newer vexplore"):
        Store(root, store_dir, readonly=True)
    monkeypatch.undo()

    monkeypatch.setattr(compaction, "MIN_ROWS", MIN_ROWS)
    summary = index_folder(root, store_dir, Options(models=[model], workers=0))
    assert summary.compaction == [] and summary.embedded == 0
    assert snapshot(root, store_dir) == after

    for i in range(N_FILES):  # edits again: the next generation of the file
        write(root, i, seed=2)
    summary = index_folder(root, store_dir, Options(models=[model], workers=0))
    assert summary.compaction[0].file == "vectors-2.f32" and not after["path"].exists()
    proc = run_cli("neighbors", str(root), "g0/d00.txt", "--store", str(store_dir), "-k", "3", "--json")
    assert proc.returncode == 0 and len(json.loads(proc.stdout)["neighbors"]) == 3, proc.stderr


def test_a_reader_holding_the_store_open_defers_compaction(tmp_path, model, monkeypatch):
    root, store_dir = edited_store(tmp_path, model)
    monkeypatch.setattr(compaction, "MIN_ROWS", MIN_ROWS)
    before = snapshot(root, store_dir)
    vectors = before["path"].read_bytes()

    readers = (lambda: Store(root, store_dir, readonly=True), lambda: open_explorer(root, store_dir).store)
    for reader in readers:
        held = reader()
        events: list[Event] = []
        summary = index_folder(root, store_dir, Options(models=[model], workers=0), events.append)
        [skipped] = summary.compaction
        assert skipped.skipped == compaction.BUSY
        assert skipped.unreferenced == before["rows"] - before["live"]
        reported = [e for e in events if e.kind.startswith("compact")]
        assert reported == [skipped]
        assert before["path"].read_bytes() == vectors  # untouched, the name too
        g0 = held.file_by_path("g0/d00.txt")
        assert held.file_vector(held.models()[0], g0.id).tobytes() == before["vectors"]["g0/d00.txt"][0]
        held.close()

    summary = index_folder(root, store_dir, Options(models=[model], workers=0))  # nobody reads now
    assert summary.compaction[0].rows_after == before["live"]
    assert snapshot(root, store_dir)["vectors"] == before["vectors"]


KILLER = """
import os, signal, sys
from vexplore.engine import compaction, migrations
from vexplore.engine.store import Store
compaction.MIN_ROWS = int(sys.argv[1])
where, real = sys.argv[2], Store.switch_vectors
def switch(self, *args, **kwargs):
    if where == "before-commit":
        os.kill(os.getpid(), signal.SIGKILL)
    real(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # committed; the old file is not removed yet
Store.switch_vectors = switch
sys.argv = ["vexplore", "index", *sys.argv[3:]]
from vexplore.cli import main
main()
"""


def answers(root: Path, store_dir: Path) -> tuple[dict, dict]:
    """neighbors and stats as the CLI prints them (timings aside)."""
    got = {}
    for path in ("g0/d00.txt", "g1/d04.txt", "g2/d14.txt"):
        proc = run_cli("neighbors", str(root), path, "--store", str(store_dir), "-k", "5", "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        got[path] = json.loads(proc.stdout)
    proc = run_cli("stats", str(root), "--store", str(store_dir), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    stats = {k: v for k, v in json.loads(proc.stdout).items() if k not in ("timings", "seconds")}
    return got, stats


@pytest.mark.parametrize("where", ["before-commit", "after-commit"])
def test_a_writer_killed_while_compacting_leaves_a_store_that_reads_the_same(tmp_path, model, where):
    root, store_dir = edited_store(tmp_path, model)
    before, want = snapshot(root, store_dir), answers(root, store_dir)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER,
            str(MIN_ROWS),
            where,
            str(root),
            "--store",
            str(store_dir),
            "--model",
            model,
            "--json",
            "--workers",
            "0",
        ],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr[-3000:]
    folder = before["path"].parent
    assert sorted(p.name for p in folder.glob("vectors*")) == ["vectors-1.f32", "vectors.f32"]  # one stray
    assert answers(root, store_dir) == want
    crashed = snapshot(root, store_dir)
    assert crashed["vectors"] == before["vectors"] and crashed["neighbors"] == before["neighbors"]
    assert crashed["path"].name == ("vectors.f32" if where == "before-commit" else "vectors-1.f32")

    summary = index_folder(root, store_dir, Options(models=[model], workers=0))  # default thresholds
    assert summary.compaction == [] and summary.embedded == 0
    assert [p.name for p in folder.glob("vectors*")] == [crashed["path"].name]  # the stray is gone
    assert answers(root, store_dir) == want
    final = snapshot(root, store_dir)
    assert final["vectors"] == before["vectors"] and not final["rebuilt"]
    assert final["path"].stat().st_size == final["rows"] * 32 * 4


def test_a_catalog_from_before_compaction_still_reads_and_indexes(tmp_path, model, monkeypatch):
    root, store_dir = edited_store(tmp_path, model)
    schema = migrations.SCHEMA
    models = schema[schema.index("CREATE TABLE IF NOT EXISTS models") :]
    models = models[: models.index(");") + 2]
    old = "\n".join(line for line in models.splitlines() if "vectors TEXT" not in line)
    old = old.replace("info TEXT,", "info TEXT ")  # the models table as vexplore wrote it before the column
    with sqlite3.connect(store_dir / "catalog.sqlite") as db:
        db.executescript(
            f"BEGIN; ALTER TABLE models RENAME TO newer; {old} INSERT INTO models SELECT id, "
            "name, family, backend, modalities, dim, rows, generation, text_queries, info "
            "FROM newer; DROP TABLE newer; COMMIT;"
        )
    before = snapshot(root, store_dir)  # a read-only reader: no column, the legacy file
    with sqlite3.connect(store_dir / "catalog.sqlite") as db:
        assert "vectors" not in {r[1] for r in db.execute("PRAGMA table_info(models)")}

    monkeypatch.setattr(compaction, "MIN_ROWS", MIN_ROWS)
    summary = index_folder(root, store_dir, Options(models=[model], workers=0))  # the writer adds the column
    assert summary.compaction[0].rows_after == before["live"]
    after = snapshot(root, store_dir)
    assert after["vectors"] == before["vectors"] and after["neighbors"] == before["neighbors"]
    assert after["path"].name == "vectors-1.f32" and not before["path"].exists()
