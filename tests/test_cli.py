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
from click.testing import CliRunner

from vexplore.cli import main
from vexplore.engine.events import IndexSummary, UnknownEvent, from_json, to_line


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def last_json(stdout: str):
    return json.loads(stdout.strip().splitlines()[-1])


def test_search_ranks_topic_first(indexed_corpus):
    for topic, query in [
        ("astronomy", "stars and planets in the night sky"),
        ("cooking", "a recipe for dinner"),
        ("football", "soccer match"),
        ("gardening", "growing plants and flowers"),
    ]:
        code, out, _ = run("search", indexed_corpus, query, "-k", "5", "--json")
        assert code == 0
        doc = last_json(out)
        assert doc["query"] == query and doc["model"] == "minilm"
        paths = [r["path"] for r in doc["results"]]
        assert len(paths) == 5
        assert all(p.startswith(topic + "/") for p in paths[:3]), (query, paths)
        scores = [r["score"] for r in doc["results"]]
        assert scores == sorted(scores, reverse=True)


def test_neighbors_file_json(indexed_corpus):
    code, out, _ = run("neighbors", indexed_corpus, "cooking/doc0.txt", "-k", "4", "--json")
    assert code == 0
    doc = last_json(out)
    assert doc["path"] == "cooking/doc0.txt" and doc["model"] == "minilm"
    paths = [n["path"] for n in doc["neighbors"]]
    assert "cooking/doc0.txt" not in paths and len(paths) == 4
    assert sum(p.startswith("cooking/") for p in paths) >= 3


def test_neighbors_accepts_path_inside_folder(indexed_corpus, monkeypatch):
    monkeypatch.chdir(indexed_corpus.parent)
    code, out, _ = run("neighbors", indexed_corpus, indexed_corpus / "football" / "doc1.md", "--json")
    assert code == 0 and last_json(out)["path"] == "football/doc1.md"


def test_neighbors_all_is_json_lines(indexed_corpus):
    code, out, _ = run("neighbors", indexed_corpus, "--all", "-k", "3", "--json")
    assert code == 0
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert len(lines) == 20
    assert {ln["path"] for ln in lines} == {
        f"{t}/doc{i}{'.md' if i % 2 else '.txt'}"
        for t in ("astronomy", "cooking", "football", "gardening")
        for i in range(5)
    }
    for ln in lines:
        assert len(ln["neighbors"]) == 3 and ln["path"] not in [n["path"] for n in ln["neighbors"]]


def test_incremental_touch_delete_add(indexed_copy):
    root = indexed_copy
    code, out, _ = run("index", root, "--json")
    s = last_json(out)
    assert code == 0 and (s["files"], s["embedded"], s["unchanged"], s["removed"]) == (20, 0, 20, 0)

    target = root / "astronomy" / "doc0.txt"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    s = last_json(run("index", root, "--json")[1])
    assert (s["embedded"], s["unchanged"]) == (1, 19)

    (root / "cooking" / "doc2.txt").unlink()
    s = last_json(run("index", root, "--json")[1])
    assert (s["files"], s["embedded"], s["removed"]) == (19, 0, 1)
    doc = last_json(run("search", root, "bake a cake in the oven", "-k", "19", "--json")[1])
    assert "cooking/doc2.txt" not in [r["path"] for r in doc["results"]]
    assert len(doc["results"]) == 19

    (root / "cooking" / "new.txt").write_text("Fry the pancakes in butter and serve them with syrup.")
    s = last_json(run("index", root, "--json")[1])
    assert (s["files"], s["embedded"], s["unchanged"]) == (20, 1, 19)
    doc = last_json(run("search", root, "pancakes with syrup", "-k", "1", "--json")[1])
    assert doc["results"][0]["path"] == "cooking/new.txt"


def test_index_summary_schema_and_progress_on_stderr(corpus):
    code, out, err = run("index", corpus, "--json")
    assert code == 0
    s = last_json(out)
    assert set(s) >= {"files", "embedded", "unchanged", "removed", "failed", "errors", "models", "seconds"}
    assert (s["files"], s["embedded"], s["failed"], s["errors"]) == (20, 20, 0, [])
    assert s["models"][0]["name"] == "minilm" and s["models"][0]["dim"] == 384
    events = [json.loads(line) for line in err.strip().splitlines() if line.startswith("{")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "scan" and "progress" in kinds and kinds[-1] == "done"
    # Every line reads back as its typed event and writes out again byte for byte; the summary too.
    lines = [line for line in err.strip().splitlines() if line.startswith("{")]
    typed = [from_json(line) for line in lines]
    assert not any(e is None or isinstance(e, UnknownEvent) for e in typed), lines
    assert [to_line(e) for e in typed if e is not None] == lines
    assert json.dumps(IndexSummary.from_json(s).to_json(), ensure_ascii=False) == out.strip().splitlines()[-1]
    assert (corpus / ".vexplore" / "catalog.sqlite").exists()
    assert oct((corpus / ".vexplore").stat().st_mode & 0o777) == "0o700"


def test_failed_files_get_reasons(corpus):
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (corpus / "empty.md").write_text("   \n")
    s = last_json(run("index", corpus, "--json")[1])
    reasons = {e["path"]: e["reason"] for e in s["errors"]}
    assert s["failed"] == 2 and "NUL" in reasons["binary.txt"] and reasons["empty.md"] == "empty text"
    assert s["embedded"] == 20
    # unchanged failures are not retried (a no-op run) but stay listed for the UI
    s = last_json(run("index", corpus, "--json")[1])
    assert (s["embedded"], s["failed"]) == (0, 0)


def test_store_option_and_missing_store(corpus, tmp_path):
    store = tmp_path / "elsewhere"
    assert run("index", corpus, "--store", store, "--json")[0] == 0
    assert (store / "catalog.sqlite").exists() and not (corpus / ".vexplore").exists()
    code, out, _ = run("search", corpus, "goal", "--store", store, "--json")
    assert code == 0 and last_json(out)["results"]
    code, _, err = run("search", corpus, "goal", "--json")
    assert code != 0 and "vexplore index" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (("index", "/no/such/dir"), "no such folder"),
        (("search", "/no/such/dir", "x"), "no such folder"),
        (("index", "{corpus}", "--model", "no-such-model-xyz"), "unknown model"),
        (("neighbors", "{indexed}", "nope.txt"), "not in the index"),
        (("neighbors", "{indexed}", "astronomy/doc0.txt", "--model", "mpnet"), "not indexed here"),
        (("neighbors", "{indexed}"), "either FILE or --all"),
        (("search", "{indexed}", "  "), "empty query"),
    ],
)
def test_errors_are_one_clear_line(args, needle, corpus, indexed_corpus):
    args = [a.format(corpus=corpus, indexed=indexed_corpus) for a in args]
    code, out, err = run(*args)
    assert code != 0
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_models_json():
    code, out, _ = run("models", "--json")
    rows = last_json(out)
    by_name = {r["name"]: r for r in rows}
    assert set(by_name["minilm"]) >= {"name", "modalities", "dim", "backend", "available", "source"}
    assert by_name["minilm"]["available"] is True and by_name["minilm"]["dim"] == 384
    assert by_name["minilm"]["source"].startswith("package:")
    assert by_name["mpnet"]["dim"] == 768 and by_name["mpnet"]["modalities"] == ["text"]


def test_export_npy_round_trip(indexed_corpus, tmp_path):
    out = tmp_path / "vecs.npy"
    code, _, _ = run("export", indexed_corpus, "--format", "npy", "--out", out)
    assert code == 0
    vectors = np.load(out, allow_pickle=False)
    meta = json.loads(out.with_name("vecs.npy.json").read_text())
    assert vectors.shape == (20, 384) and len(meta["paths"]) == 20 and meta["model"] == "minilm"
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    # the exported row of a file is its neighbors' query vector: its nearest row is itself
    i = meta["paths"].index("gardening/doc3.md")
    assert int(np.argmax(vectors @ vectors[i])) == i


def test_console_script_runs_offline(indexed_corpus):
    """The installed `vexplore` entry point, in a real process, with no network."""
    exe = Path(sys.executable).with_name("vexplore")
    started = time.monotonic()
    proc = subprocess.run(
        [str(exe), "neighbors", str(indexed_corpus), "gardening/doc0.txt", "--json"],
        capture_output=True,
        text=True,
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["neighbors"][0]["path"].startswith("gardening/")
    # neighbors need no ML imports: the command should be quick even on this small machine
    assert time.monotonic() - started < 60


def test_default_models_per_modality_and_cross_modal_neighbors(tmp_path):
    """sample_data with the defaults: text, image (+video frames) and audio models, all offline;
    a video's nearest neighbors are photos of the same subject."""
    import shutil

    root = tmp_path / "sd"
    shutil.copytree(Path(__file__).parents[1] / "sample_data", root)
    code, out, _ = run("index", root, "--json")
    s = last_json(out)
    assert code == 0 and s["failed"] == 0 and s["no_model_for"] == []
    assert {m["name"] for m in s["models"]} == {"minilm", "effnet-lite0", "whisper-tiny.en"}
    doc = last_json(run("neighbors", root, "video/cat_zoom.mp4", "-k", "3", "--json")[1])
    assert doc["model"] == "effnet-lite0"
    assert all(n["path"].startswith("images/cat/") for n in doc["neighbors"]), doc
    assert all(n.get("labels") for n in doc["neighbors"])
    doc = last_json(
        run(
            "neighbors",
            root,
            "text/cooking/" + sorted(p.name for p in (root / "text/cooking").iterdir())[0],
            "--json",
        )[1]
    )
    assert doc["model"] == "minilm"
    doc = last_json(run("neighbors", root, "audio/rocket_launch_en.wav", "-k", "1", "--json")[1])
    assert (
        doc["model"] == "whisper-tiny.en" and doc["neighbors"][0]["path"] == "audio/rocket_launch_en-us.wav"
    )
