"""engine/decode/audio.py on real files in every container we claim: mono, 16 kHz, the right length and
pitch, 30 s windows, and a reason (never a crash) for broken files."""

from __future__ import annotations

import numpy as np
import pytest

from vexplore.engine.decode.audio import load_audio, windows
from vexplore.engine.models.base import DecodeError

from .av_fixtures import dominant_freq, write_av_audio, write_video
from .media import sine, write_audio


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("tone.wav", lambda p, s, sr: write_audio(p, s, sr)),
        ("tone.flac", lambda p, s, sr: write_audio(p, s, sr)),
        ("tone.ogg", lambda p, s, sr: write_audio(p, s, sr)),
        ("tone.mp3", lambda p, s, sr: write_audio(p, s, sr)),
        ("tone.m4a", lambda p, s, sr: write_audio(p, s, sr)),
        ("tone.opus", lambda p, s, sr: write_av_audio(p, s, sr, "libopus", fmt="ogg")),
    ],
)
def test_every_container_decodes_to_mono_16k(tmp_path, name, writer):
    sr = 48000 if name.endswith("opus") else 44100
    path = writer(tmp_path / name, sine(440.0, 2.0, sr, 0.3), sr)
    samples, meta = load_audio(path)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / 16000 - 2.0) < 0.1  # encoder padding of lossy codecs stays small
    assert abs(dominant_freq(samples, 16000) - 440.0) < 5  # resampled, not re-pitched
    assert meta["sample_rate"] == sr and meta["channels"] == 1
    assert abs(meta["duration"] - 2.0) < 0.1 and not meta["truncated"]


def test_stereo_is_mixed_to_mono(tmp_path):
    left = sine(440.0, 1.0, 22050, 0.3)
    path = write_audio(tmp_path / "stereo.wav", np.stack([left, np.zeros_like(left)], axis=1), 22050)
    samples, meta = load_audio(path)
    assert meta["channels"] == 2
    assert 0.13 < np.abs(samples[1000:-1000]).max() < 0.17  # the mean of a 0.3 tone and silence


def test_audio_track_of_a_video(tmp_path):
    samples, meta = load_audio(write_video(tmp_path / "clip.mp4", seconds=2.0))
    assert meta["codec"] == "aac" and meta["sample_rate"] == 48000
    assert abs(len(samples) / 16000 - 2.0) < 0.1
    assert abs(dominant_freq(samples, 16000) - 440.0) < 5


def test_start_and_seconds_cut_a_slice(tmp_path):
    sr = 16000
    signal = np.concatenate(
        [sine(300.0, 1.0, sr, 0.3), sine(1200.0, 1.0, sr, 0.3), sine(300.0, 1.0, sr, 0.3)]
    )
    path = write_audio(tmp_path / "three.wav", signal, sr)
    middle, _ = load_audio(path, start=1.1, seconds=0.8)
    assert len(middle) == int(0.8 * sr)
    assert abs(dominant_freq(middle, sr) - 1200.0) < 10
    at48k, _ = load_audio(path, sr=48000, start=1.1, seconds=0.8)
    assert abs(len(at48k) - int(0.8 * 48000)) <= 48


def test_max_seconds_truncates_and_says_so(tmp_path):
    path = write_audio(tmp_path / "long.flac", sine(440.0, 12.0, 16000, 0.3), 16000)
    samples, meta = load_audio(path, max_seconds=5.0)
    assert len(samples) == 5 * 16000 and meta["truncated"]
    assert meta["duration"] == 12.0


def test_windows_cut_at_30_seconds():
    sr = 16000
    assert [len(w) for w in windows(np.zeros(65 * sr, np.float32), sr)] == [30 * sr, 30 * sr, 5 * sr]
    assert [len(w) for w in windows(np.zeros(int(60.5 * sr), np.float32), sr)] == [30 * sr, 30 * sr]
    assert [len(w) for w in windows(np.zeros(sr // 2, np.float32), sr)] == [sr // 2]


def _truncated_wav(tmp_path):
    good = write_audio(tmp_path / "good.wav", sine(440.0, 1.0, 16000, 0.3), 16000).read_bytes()
    (tmp_path / "truncated.wav").write_bytes(good[:30])
    return tmp_path / "truncated.wav"


def _video_only(tmp_path):
    write_video(tmp_path / "silent.mp4", seconds=1.0, audio=False)
    return tmp_path / "silent.mp4"


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: (d / "empty.wav").write_bytes(b"") and None or d / "empty.wav", "empty file"),
        (_truncated_wav, "not a readable audio file"),
        (
            lambda d: (d / "text.mp3").write_text("definitely not audio\n" * 50) and d / "text.mp3",
            "not a readable audio file",
        ),
        (
            lambda d: (d / "noise.ogg").write_bytes(np.random.default_rng(0).bytes(5000)) and d / "noise.ogg",
            "not a readable audio file",
        ),
        (_video_only, r"no audio stream in this file \(video only\)"),
    ],
)
def test_broken_files_give_a_reason(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(DecodeError, match=reason):
        load_audio(path)


def test_a_missing_file_gives_a_reason(tmp_path):
    with pytest.raises(DecodeError, match="cannot read"):
        load_audio(tmp_path / "gone.wav")
