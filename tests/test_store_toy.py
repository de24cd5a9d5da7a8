"""The store on the fast tier (toy model, no torch): a committed index reopens whole, one changed file is
all an incremental run embeds again, a removed file leaves catalog, vectors and index, and a SIGKILLed
index run leaves a consistent store that a rerun completes to exactly what a clean run gives."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import numpy as np
import pytest

from tests.clirun import run_cli
from tests.indexrun import IndexRun, check_consistent
from vexplore.engine.events import IndexSummary, ProgressEvent
from vexplore.engine.index import VectorIndex
from vexplore.engine.models.toy import text_vector
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.store import Store, find_store_dir

pytestmark = pytest.mark.fast
TOY = Options(models=["toy"], workers=0)
WORDS = [
    "planet",
    "orbit",
    "comet",
    "galaxy",
    "river",
    "delta",
    "glacier",
    "violin",
    "cello",
    "kernel",
    "thread",
    "bakery",
    "dough",
    "oven",
]


def expected(text: str) -> np.ndarray:
    vec = text_vector(text)
    return vec / np.linalg.norm(vec)


def index(root: Path) -> IndexSummary:
    return index_folder(root, find_store_dir(root, create=True), TOY)


def stored(root: Path) -> dict[str, np.ndarray]:
    return check_consistent(root, find_store_dir(root))["toy"]


def index_ids(root: Path) -> set[int]:
    """The live labels of the saved hnswlib index as a reader opens it (get_items refuses deleted ones)."""
    with Store(root, find_store_dir(root), readonly=True) as store:
        model = store.model("toy")
        assert model is not None
        vindex = VectorIndex(store, model).open(persist=False)
        assert not vindex.rebuilt, vindex.notice  # the saved file, not a rebuild from the vectors
        return {label for label in vindex.hnsw.get_ids_list() if _live(vindex, label)}


def _live(vindex: VectorIndex, label: int) -> bool:
    try:
        vindex.hnsw.get_items([label])
    except RuntimeError:
        return False
    return True


def paths_by_id(root: Path) -> dict[int, str]:
    with Store(root, find_store_dir(root), readonly=True) as store:
        return {f.id: f.path for f in store.files().values()}


def test_commit_reopen_change_one_file_and_remove_one(topic_texts):
    root = topic_texts
    summary = index(root)
    assert (summary.files, summary.embedded, summary.failed) == (20, 20, 0)
    first = stored(root)
    assert len(first) == 20
    for path, vec in first.items():  # what was committed is what the model gives for the file
        np.testing.assert_allclose(vec, expected((root / path).read_text()), atol=1e-5, err_msg=path)
    assert {paths_by_id(root)[i] for i in index_ids(root)} == set(first)

    changed = root / "cooking" / "doc1.md"
    changed.write_text("Grill the sausages over charcoal and serve them with mustard.\n")
    summary = index(root)
    assert (summary.embedded, summary.unchanged, summary.removed) == (1, 19, 0)
    second = stored(root)
    np.testing.assert_allclose(second["cooking/doc1.md"], expected(changed.read_text()), atol=1e-5)
    for path in set(first) - {"cooking/doc1.md"}:
        np.testing.assert_array_equal(second[path], first[path], err_msg=path)

    (root / "football" / "doc3.md").unlink()
    summary = index(root)
    assert (summary.files, summary.embedded, summary.removed) == (19, 0, 1)
    third = stored(root)
    assert set(third) == set(first) - {"football/doc3.md"}
    assert {paths_by_id(root)[i] for i in index_ids(root)} == set(third)
    with Store(root, find_store_dir(root), readonly=True) as store:
        assert store.file_by_path("football/doc3.md") is None and store.file_count() == 19


def write_notes(root: Path, n: int = 1000) -> None:
    rng = random.Random(11)
    for i in range(n):
        sub = root / f"part{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"note{i:03d}.txt").write_text(" ".join(rng.choices(WORDS, k=rng.randint(5, 30))) + "\n")


def test_sigkill_mid_run_then_rerun_completes_the_store(tmp_path):
    root, store_dir, clean_dir = tmp_path / "notes", tmp_path / "store", tmp_path / "clean"
    write_notes(root)
    clean = index_folder(root, clean_dir, TOY)
    assert clean.embedded == 1000
    want = check_consistent(root, clean_dir)["toy"]

    run = IndexRun(root, store_dir, "--model", "toy", "--batch-size", "4", "--workers", "0")
    progress = run.wait_for(lambda e: isinstance(e, ProgressEvent) and e.done >= 16)
    ended = "the run ended before the kill"
    assert isinstance(progress, ProgressEvent) and progress.done < progress.total, ended
    run.signal(signal.SIGKILL)
    code, _ = run.finish()
    assert code == -signal.SIGKILL
    kept = check_consistent(root, store_dir).get("toy", {})
    assert len(kept) >= progress.done  # every reported commit survived the kill
    for path, vec in kept.items():
        np.testing.assert_allclose(vec, want[path], atol=1e-6, err_msg=path)

    proc = run_cli("index", str(root), "--store", str(store_dir), "--model", "toy", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = check_consistent(root, store_dir)["toy"]
    assert got.keys() == want.keys()
    for path, vec in want.items():
        np.testing.assert_allclose(got[path], vec, atol=1e-6, err_msg=path)
