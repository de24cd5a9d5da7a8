"""What makes big folders fast, checked on real stores: an index run reads and hashes only files whose
size or mtime changed and embeds only those; ef is tuned when a first index is filled and re-tuned only
once enough has changed; a large index is built in chunks with the large-set M and still
meets the recall target; the console script exits cleanly (and quickly) after an index run that loaded
torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from vexplore.engine import index as index_module
from vexplore.engine import plan
from vexplore.engine.events import Event, PlanEvent
from vexplore.engine.index import VectorIndex
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.store import Store, find_store_dir

from .stats_corpus import tiny_model
from .test_index import make_store


def test_one_changed_file_is_the_only_one_hashed_and_embedded(indexed_copy, monkeypatch):
    store_dir = find_store_dir(indexed_copy)
    with Store(indexed_copy, store_dir) as store:
        before = dict(store.db.execute("SELECT file_id, row FROM embeddings"))
    hashed: list[str] = []
    real_hash = plan.content_hash
    monkeypatch.setattr(
        plan, "content_hash", lambda path, size: hashed.append(Path(path).name) or real_hash(path, size)
    )
    events: list[Event] = []

    summary = index_folder(indexed_copy, store_dir, Options(), events.append)
    assert hashed == [] and summary.embedded == 0 and summary.unchanged == 20
    assert next(e for e in events if isinstance(e, PlanEvent)).hashed == 0

    with open(indexed_copy / "cooking" / "doc2.txt", "a") as fh:
        fh.write("Serve it warm with bread.\n")
    events.clear()
    summary = index_folder(indexed_copy, store_dir, Options(), events.append)
    assert hashed == ["doc2.txt"]
    assert next(e for e in events if e.kind == "plan") == PlanEvent(new=0, changed=1, removed=0, hashed=1)
    assert (summary.embedded, summary.unchanged) == (1, 19)
    assert summary.models[0].embedded == 1 and summary.models[0].load_seconds > 0
    with Store(indexed_copy, store_dir) as store:
        after = dict(store.db.execute("SELECT file_id, row FROM embeddings"))
        changed = store.file_by_path("cooking/doc2.txt").id
    assert {f: r for f, r in after.items() if f != changed} == {
        f: r for f, r in before.items() if f != changed
    }
    assert after[changed] > max(before.values())  # a new vector row; every other file kept its own


def test_large_build_is_chunked_and_meets_recall(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module, "BUILD_CHUNK", 128)
    monkeypatch.setattr(index_module, "LARGE", 300)
    store, vecs = make_store(tmp_path, n=700)
    index = VectorIndex(store, store.models()[0]).open()
    assert index.hnsw.M == index_module.M_LARGE
    ids, _ = store.embedded(store.models()[0])
    assert sorted(index.hnsw.get_ids_list()) == sorted(ids.tolist())
    assert index.recall >= 0.98
    got = np.array(index.hnsw.get_items(ids[:5]))
    assert np.allclose(got, vecs[:5], atol=1e-5)  # every chunk landed with its own ids


def test_console_script_index_exits_cleanly_after_loading_torch(indexed_copy):
    """`vexplore index` skips the interpreter teardown once its work is committed: the exit status, the
    events on stderr and the summary on stdout must all still arrive."""
    with open(indexed_copy / "football" / "doc1.md", "a") as fh:
        fh.write("The crowd went home happy.\n")
    exe = Path(sys.executable).with_name("vexplore")
    proc = subprocess.run(
        [str(exe), "index", str(indexed_copy), "--json"],
        capture_output=True,
        text=True,
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events if e["event"] in ("scan", "plan", "load", "model", "done")] == [
        "scan",
        "plan",
        "load",
        "model",
        "done",
    ]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (summary["embedded"], summary["unchanged"]) == (1, 19)
    bad = subprocess.run([str(exe), "index", str(indexed_copy / "nope")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no such folder" in bad.stderr


def _sidecar(root: Path) -> dict:
    return json.loads(next((find_store_dir(root) / "models").glob("*/index.json")).read_text())


def test_first_index_is_tuned_and_small_changes_keep_the_tuning(tmp_path, monkeypatch):
    root = tmp_path / "docs"
    rng = np.random.default_rng(3)
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "omega",
        "river",
        "stone",
        "cloud",
        "paper",
        "light",
        "metal",
        "glass",
    ]
    for i in range(240):
        (root / f"g{i % 4}").mkdir(parents=True, exist_ok=True)
        (root / f"g{i % 4}" / f"d{i:03d}.txt").write_text(" ".join(rng.choice(words, 12)) + "\n")
    model = str(tiny_model(tmp_path / "model"))
    index_folder(root, find_store_dir(root, create=True), Options(models=[model]))
    first = _sidecar(root)
    assert first["count"] == 240 and first["untuned"] == 0  # built empty, filled, then tuned
    with Store(root, find_store_dir(root)) as store:
        index = VectorIndex(store, store.models()[0]).open()
        assert not index.rebuilt
        index.tune()
        assert (index.ef, index.recall) == (first["ef"], first["recall"])

    tunings: list[int] = []
    real_tune = VectorIndex.tune
    monkeypatch.setattr(
        VectorIndex, "tune", lambda self, *a, **kw: tunings.append(1) or real_tune(self, *a, **kw)
    )
    monkeypatch.setattr(index_module, "RETUNE_SHARE", 1 / 80)  # 3 of 240 items: the third change re-tunes
    for n in range(1, 4):
        with open(root / f"g{n % 4}" / f"d{n:03d}.txt", "a") as fh:
            fh.write("changed\n")
        index_folder(root, find_store_dir(root), Options(models=[model]))
        assert _sidecar(root)["untuned"] == (n if n < 3 else 0)
    assert tunings == [1]


def test_index_checksum_is_crc32_and_older_blake2b_sidecars_still_verify(tmp_path):
    import hashlib

    store, _ = make_store(tmp_path, n=300)
    model = store.models()[0]
    first = VectorIndex(store, model).open()
    state = json.loads(first.sidecar.read_text())
    assert state["checksum"].startswith("crc32:")
    assert not VectorIndex(store, model).open().rebuilt

    old = dict(state, checksum=hashlib.blake2b(first.path.read_bytes(), digest_size=16).hexdigest())
    first.sidecar.write_text(json.dumps(old))  # as vexplore wrote it before CRC-32
    assert not VectorIndex(store, model).open(persist=False).rebuilt
    first.sidecar.write_text(json.dumps(dict(old, checksum="0" * 32)))
    again = VectorIndex(store, model).open(persist=False)
    assert again.rebuilt and "checksum differs" in again.notice
