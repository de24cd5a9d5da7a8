"""`vexplore index` end to end on real media with the offline defaults: audio goes to the packaged
Whisper tiny.en, broken files are recorded with a reason, previews get their facts, neighbors make sense."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from .av_fixtures import write_video
from .clirun import run_cli
from .media import sine, speak, speech_samples, write_audio


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed")
    for word in ("apple", "river"):
        speak(word, root / f"{word}-us.wav", "en-us")
        speak(word, root / f"{word}-gb.flac", "en-gb", pitch=70, speed=140)
    write_audio(root / "door.m4a", speech_samples("open the door"))
    write_audio(root / "hum.ogg", sine(120.0, 3.0, 22050, 0.3), 22050)
    (root / "notes.txt").write_text("A shopping list: apples, pears and a loaf of bread.\n")
    (root / "empty.wav").write_bytes(b"")
    (root / "fake.mp3").write_text("this is a text file wearing an mp3 name\n" * 20)
    write_video(root / "mute.mp4", seconds=1.0, audio=False)
    (root / "mute.m4a").write_bytes((root / "mute.mp4").read_bytes())  # a video with an audio extension
    (root / "mute.mp4").unlink()
    return root


@pytest.mark.slow
def test_index_mixed_folder_with_defaults(mixed):
    run = run_cli("index", str(mixed), "--json", timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    models = {m["name"]: m for m in summary["models"]}
    assert models["whisper-tiny.en"]["embedded"] == 6 and models["whisper-tiny.en"]["source"].startswith(
        "package"
    )
    assert models["minilm"]["embedded"] == 1
    reasons = {e["path"]: e["reason"] for e in summary["errors"]}
    assert reasons == {
        "empty.wav": "empty file (0 bytes)",
        "fake.mp3": "not a readable audio file (Invalid data found when processing input)",
        "mute.m4a": "no audio stream in this file (video only)",
    }
    events = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert {e["path"] for e in events if e["event"] == "error"} == set(reasons)

    with sqlite3.connect(mixed / ".vexplore" / "catalog.sqlite") as db:
        meta = {
            p: json.loads(m) for p, m in db.execute("SELECT path, meta FROM files WHERE meta IS NOT NULL")
        }
    assert meta["door.m4a"]["codec"] == "aac" and meta["door.m4a"]["windows"] == 1
    assert meta["hum.ogg"]["sample_rate"] == 22050 and abs(meta["hum.ogg"]["duration"] - 3.0) < 0.01

    hits = run_cli("neighbors", str(mixed), "apple-us.wav", "--json", "-k", "3", timeout=600)
    assert hits.returncode == 0, hits.stderr
    assert json.loads(hits.stdout)["neighbors"][0]["path"] == "apple-gb.flac"

    again = json.loads(run_cli("index", str(mixed), "--json", timeout=600).stdout)
    assert again["embedded"] == 0 and again["unchanged"] == again["files"]


@pytest.mark.slow
def test_video_flag_puts_soundtracks_beside_audio(tmp_path):
    """With whisper-tiny.en+video, a video's sound track lands in the audio space: a video whose track
    is a 440 Hz tone is nearer a 440 Hz recording than to noisy 3 kHz."""
    write_video(tmp_path / "clip.mp4", seconds=2.0, size=(64, 48))
    write_audio(tmp_path / "a440.wav", sine(440.0, 2.0, 16000, 0.3), 16000)
    noise = np.random.default_rng(1).normal(0, 0.05, 32000).astype(np.float32)
    write_audio(tmp_path / "b3000.wav", sine(3000.0, 2.0, 16000, 0.06) + noise, 16000)
    run = run_cli("index", str(tmp_path), "--model", "whisper-tiny.en+video", "--json", timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["embedded"] == 3 and summary["models"][0]["modalities"] == ["audio", "video"]
    hits = json.loads(run_cli("neighbors", str(tmp_path), "clip.mp4", "--json", timeout=600).stdout)
    assert [h["path"] for h in hits["neighbors"]] == ["a440.wav", "b3000.wav"]
