"""The CLI contract of issue 2, driven through the real commands on a real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vexplore.engine.events import IndexSummary, UnknownEvent, from_json, to_line


@pytest.mark.parametrize(
    "topic, query",
    [
        ("astronomy", "stars and planets in the night sky"),
        ("cooking", "a recipe for dinner"),
        ("football", "soccer match"),
        ("gardening", "growing plants and flowers"),
    ],
)
def test_search_ranks_topic_first(indexed_corpus, cli, topic, query):
    doc = cli("search", indexed_corpus, query, "-k", "5", "--json").json()
    assert doc["query"] == query and doc["model"] == "minilm"
    paths = [r["path"] for r in doc["results"]]
    assert len(paths) == 5
    assert all(p.startswith(topic + "/") for p in paths[:3]), (query, paths)
    scores = [r["score"] for r in doc["results"]]
    assert scores == sorted(scores, reverse=True)


def test_neighbors_file_json(indexed_corpus, cli):
    doc = cli("neighbors", indexed_corpus, "cooking/doc0.txt", "-k", "4", "--json").json()
    assert doc["path"] == "cooking/doc0.txt" and doc["model"] == "minilm"
    paths = [n["path"] for n in doc["neighbors"]]
    assert "cooking/doc0.txt" not in paths and len(paths) == 4
    assert sum(p.startswith("cooking/") for p in paths) >= 3


@pytest.mark.fast
def test_neighbors_accepts_path_inside_folder(toy_indexed, cli, monkeypatch):
    monkeypatch.chdir(toy_indexed.parent)
    doc = cli("neighbors", toy_indexed, toy_indexed / "football" / "doc1.md", "--json").json()
    assert doc["path"] == "football/doc1.md"


@pytest.mark.fast
def test_neighbors_all_is_json_lines(toy_indexed, cli):
    lines = cli("neighbors", toy_indexed, "--all", "-k", "3", "--json").json_lines()
    assert len(lines) == 20
    assert {ln["path"] for ln in lines} == {
        f"{t}/doc{i}{'.md' if i % 2 else '.txt'}"
        for t in ("astronomy", "cooking", "football", "gardening")
        for i in range(5)
    }
    for ln in lines:
        assert len(ln["neighbors"]) == 3 and ln["path"] not in [n["path"] for n in ln["neighbors"]]


@pytest.mark.fast
def test_incremental_touch_delete_add(toy_copy, cli):
    root = toy_copy
    s = cli("index", root, "--json").json()
    assert (s["files"], s["embedded"], s["unchanged"], s["removed"]) == (20, 0, 20, 0)

    target = root / "astronomy" / "doc0.txt"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    s = cli("index", root, "--json").json()
    assert (s["embedded"], s["unchanged"]) == (1, 19)

    (root / "cooking" / "doc2.txt").unlink()
    s = cli("index", root, "--json").json()
    assert (s["files"], s["embedded"], s["removed"]) == (19, 0, 1)
    doc = cli("search", root, "bake a cake in the oven", "-k", "19", "--json").json()
    assert "cooking/doc2.txt" not in [r["path"] for r in doc["results"]]
    assert len(doc["results"]) == 19

    (root / "cooking" / "new.txt").write_text("Fry the pancakes in butter and serve them with syrup.")
    s = cli("index", root, "--json").json()
    assert (s["files"], s["embedded"], s["unchanged"]) == (20, 1, 19)
    doc = cli("search", root, "pancakes with syrup", "-k", "1", "--json").json()
    assert doc["results"][0]["path"] == "cooking/new.txt"


@pytest.mark.fast
def test_index_summary_schema_and_progress_on_stderr(topic_texts, cli):
    code, out, err = cli("index", topic_texts, "--model", "toy", "--json")
    s = json.loads(out.strip().splitlines()[-1])
    assert set(s) >= {"files", "embedded", "unchanged", "removed", "failed", "errors", "models", "seconds"}
    assert (s["files"], s["embedded"], s["failed"], s["errors"]) == (20, 20, 0, [])
    assert s["models"][0]["name"] == "toy" and s["models"][0]["dim"] == 256
    events = [json.loads(line) for line in err.strip().splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "scan" and "progress" in kinds and kinds[-1] == "done"
    # Every line reads back as its typed event and writes out again byte for byte; the summary too.
    lines = [line for line in err.strip().splitlines() if line.startswith("{")]
    typed = [from_json(line) for line in lines]
    assert not any(e is None or isinstance(e, UnknownEvent) for e in typed), lines
    assert [to_line(e) for e in typed if e is not None] == lines
    assert json.dumps(IndexSummary.from_json(s).to_json(), ensure_ascii=False) == out.strip().splitlines()[-1]
    assert (topic_texts / ".vexplore" / "catalog.sqlite").exists()
    assert oct((topic_texts / ".vexplore").stat().st_mode & 0o777) == "0o700"


@pytest.mark.fast
def test_failed_files_get_reasons(topic_texts, cli):
    (topic_texts / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (topic_texts / "empty.md").write_text("   \n")
    s = cli("index", topic_texts, "--model", "toy", "--json").json()
    reasons = {e["path"]: e["reason"] for e in s["errors"]}
    assert s["failed"] == 2 and "NUL" in reasons["binary.txt"] and reasons["empty.md"] == "empty text"
    assert s["embedded"] == 20
    # unchanged failures are not retried (a no-op run) but stay listed for the UI
    s = cli("index", topic_texts, "--json").json()
    assert (s["embedded"], s["failed"]) == (0, 0)


@pytest.mark.fast
def test_store_option_and_missing_store(topic_texts, cli, tmp_path):
    store = tmp_path / "elsewhere"
    cli("index", topic_texts, "--model", "toy", "--store", store, "--json")
    assert (store / "catalog.sqlite").exists() and not (topic_texts / ".vexplore").exists()
    assert cli("search", topic_texts, "goal", "--store", store, "--json").json()["results"]
    code, _, err = cli("search", topic_texts, "goal", "--json", expect=None)
    assert code != 0 and "vexplore index" in err and len(err.strip().splitlines()) == 1


@pytest.mark.fast
@pytest.mark.parametrize(
    "args, needle",
    [
        (("index", "/no/such/dir"), "no such folder"),
        (("search", "/no/such/dir", "x"), "no such folder"),
        (("index", "{texts}", "--model", "no-such-model-xyz"), "unknown model"),
        (("neighbors", "{indexed}", "nope.txt"), "not in the index"),
        (("neighbors", "{indexed}", "astronomy/doc0.txt", "--model", "mpnet"), "not indexed here"),
        (("neighbors", "{indexed}"), "either FILE or --all"),
        (("search", "{indexed}", "  "), "empty query"),
    ],
)
def test_errors_are_one_clear_line(args, needle, topic_texts, toy_indexed, cli):
    args = [a.format(texts=topic_texts, indexed=toy_indexed) for a in args]
    code, out, err = cli(*args, expect=None)
    assert code != 0
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.fast
def test_models_json(cli):
    rows = cli("models", "--json").json()
    by_name = {r["name"]: r for r in rows}
    assert set(by_name["minilm"]) >= {"name", "modalities", "dim", "backend", "available", "source"}
    assert by_name["minilm"]["available"] is True and by_name["minilm"]["dim"] == 384
    assert by_name["minilm"]["source"].startswith("package:")
    assert by_name["mpnet"]["dim"] == 768 and by_name["mpnet"]["modalities"] == ["text"]
    assert by_name["toy"]["available"] is True and by_name["toy"]["backend"] == "numpy"
    assert by_name["toy-image"]["modalities"] == ["image", "video"]


@pytest.mark.fast
def test_export_npy_round_trip(toy_indexed, cli, tmp_path):
    out = tmp_path / "vecs.npy"
    cli("export", toy_indexed, "--format", "npy", "--out", out)
    vectors = np.load(out, allow_pickle=False)
    meta = json.loads(out.with_name("vecs.npy.json").read_text())
    assert vectors.shape == (20, 256) and len(meta["paths"]) == 20 and meta["model"] == "toy"
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    # the exported row of a file is its neighbors' query vector: its nearest row is itself
    i = meta["paths"].index("gardening/doc3.md")
    assert int(np.argmax(vectors @ vectors[i])) == i


@pytest.mark.fast
def test_console_script_runs_offline(toy_indexed, cli):
    """The installed `vexplore` entry point, in a real process, with no network."""
    exe = Path(sys.executable).with_name("vexplore")
    started = time.monotonic()
    proc = subprocess.run(
        [str(exe), "neighbors", str(toy_indexed), "gardening/doc0.txt", "--json"],
        capture_output=True,
        text=True,
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    # the same answer as the command run in this process (which tests check for content elsewhere)
    want = cli("neighbors", toy_indexed, "gardening/doc0.txt", "--json").json()
    assert json.loads(proc.stdout) == want and len(want["neighbors"]) == 10
    # neighbors need no ML imports: the command should be quick even on this small machine
    assert time.monotonic() - started < 60


def test_default_models_per_modality_and_cross_modal_neighbors(tmp_path, cli):
    """sample_data with the defaults: text, image (+video frames) and audio models, all offline;
    a video's nearest neighbors are photos of the same subject."""
    import shutil

    root = tmp_path / "sd"
    shutil.copytree(Path(__file__).parents[1] / "sample_data", root)
    s = cli("index", root, "--json").json()
    assert s["failed"] == 0 and s["no_model_for"] == []
    assert {m["name"] for m in s["models"]} == {"minilm", "effnet-lite0", "whisper-tiny.en"}
    doc = cli("neighbors", root, "video/cat_zoom.mp4", "-k", "3", "--json").json()
    assert doc["model"] == "effnet-lite0"
    assert all(n["path"].startswith("images/cat/") for n in doc["neighbors"]), doc
    assert all(n.get("labels") for n in doc["neighbors"])
    first_cooking = sorted(p.name for p in (root / "text/cooking").iterdir())[0]
    doc = cli("neighbors", root, "text/cooking/" + first_cooking, "--json").json()
    assert doc["model"] == "minilm"
    doc = cli("neighbors", root, "audio/rocket_launch_en.wav", "-k", "1", "--json").json()
    assert (
        doc["model"] == "whisper-tiny.en" and doc["neighbors"][0]["path"] == "audio/rocket_launch_en-us.wav"
    )


@pytest.mark.fast
def test_stats_and_compare_on_two_toy_spaces(toy_copy, cli):
    """stats and compare read only the store: the same commands the MiniLM tests drive, on toy models."""
    cli("index", toy_copy, "--model", "toy-chars", "--json")
    r = cli("stats", toy_copy, "--model", "toy", "-k", "5", "--json").json()
    assert (r["model"], r["count"], r["dim"], r["knn"]["k"]) == ("toy", 20, 256, 5)
    plain = cli("stats", toy_copy, "--model", "toy-chars").stdout
    assert "near-duplicates" in plain and "projection (pca)" in plain

    r = cli("compare", toy_copy, "--models", "toy,toy-chars", "-k", "5", "--json").json()
    assert r["models"] == ["toy", "toy-chars"] and r["files"] == 20 and r["k"] == 5
    assert 0.0 <= r["overlap_at_k"] <= 1.0 and set(r["label_agreement_at_k"]) == {"toy", "toy-chars"}
    assert r["labels"] == ["astronomy", "cooking", "football", "gardening"]
    assert "groups your folders better" in cli("compare", toy_copy, "--models", "toy,toy-chars").stdout
    code, _, err = cli("compare", toy_copy, "--models", "toy,toy", expect=2)
    assert "two different" in err and len(err.strip().splitlines()) == 1
