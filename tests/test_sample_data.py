"""The committed sample_data/ is what the README demo and other tests rely on; tests/media.py rebuilds it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from tests import media
from vexplore.engine.decode.text import read_text
from vexplore.engine.modality import classify

SAMPLE = media.SAMPLE_DATA
STORE_DIR = ".vexplore"  # what `make demo` leaves behind; gitignored, never part of the sample set
TOPICS = {"astronomy", "cooking", "football", "gardening", "programming"}

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (make system-deps)"
)


def sample_files(sub: str = "") -> list[Path]:
    root = SAMPLE / sub
    return sorted(p for p in root.rglob("*") if p.is_file() and STORE_DIR not in p.relative_to(SAMPLE).parts)


def test_every_file_is_media_and_the_set_is_small():
    files = sample_files()
    stray = [
        str(p.relative_to(SAMPLE))
        for p in files
        if classify(p) is None or any(part.startswith(".") for part in p.relative_to(SAMPLE).parts)
    ]
    assert stray == []
    by_modality = {m: sum(classify(p) == m for p in files) for m in ("text", "image", "audio", "video")}
    assert by_modality == {"text": 37, "image": 17, "audio": 10, "video": 3}
    assert sum(p.stat().st_size for p in files) <= 4 * 1024 * 1024


def test_text_covers_five_topics_in_mixed_formats():
    topics = {p.name: sorted(p.iterdir()) for p in (SAMPLE / "text").iterdir()}
    assert set(topics) == TOPICS
    assert all(7 <= len(docs) <= 8 for docs in topics.values()), {t: len(d) for t, d in topics.items()}
    suffixes = {p.suffix for docs in topics.values() for p in docs}
    assert {".txt", ".md", ".html", ".rst", ".py"} <= suffixes
    python = [p for p in topics["programming"] if p.suffix == ".py"]
    assert len(python) >= 2
    for source in python:
        ast.parse(source.read_text(encoding="utf-8"), filename=str(source))  # real, valid source code
    words = {
        p.relative_to(SAMPLE).as_posix(): len(read_text(p)[0].split())
        for docs in topics.values()
        for p in docs
        if p.suffix != ".py"
    }
    long = {name for name, n in words.items() if n > 1500}
    assert long == {"text/astronomy/observing_the_night_sky.md"}
    short = {name: n for name, n in words.items() if name not in long and not 80 <= n <= 250}
    assert short == {}


def test_photos_have_variants_a_greyscale_and_a_transparent_png():
    for subject in media.PHOTOS:
        folder = SAMPLE / "images" / subject.folder
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted(f"{subject.folder}{tail}.jpg" for tail in ("", "_crop", "_flip_jitter"))
        original = np.asarray(Image.open(folder / f"{subject.folder}.jpg").convert("L"), np.float32)
        flipped = np.asarray(
            Image.open(folder / f"{subject.folder}_flip_jitter.jpg").convert("L"), np.float32
        )
        assert original.shape == flipped.shape
        # the variant is the same photo mirrored: nearer to the mirrored original than to the original
        assert np.corrcoef(original[:, ::-1].ravel(), flipped.ravel())[0, 1] > 0.9
    for path in sample_files("images"):
        with Image.open(path) as img:
            img.verify()
        with Image.open(path) as img:
            assert max(img.size) <= 512, path
    with Image.open(SAMPLE / "images" / media.GREYSCALE_PHOTO[0]) as grey:
        assert grey.mode == "L"
    with Image.open(SAMPLE / "images" / media.TRANSPARENT_PNG[0]) as png:
        assert png.format == "PNG" and png.mode == "RGBA"
        alpha = np.asarray(png.getchannel("A"))
    assert (alpha == 0).mean() > 0.2 and (alpha == 255).mean() > 0.2


def test_audio_is_16k_mono_speech_and_a_440_hz_tone():
    files = {p.name: p for p in sample_files("audio")}
    assert set(files) == {s.file for s in media.SPEECH} | {media.TONE[0]}
    assert {p.suffix for p in files.values()} == {".wav", ".flac", ".ogg"}
    voices = {}
    for speech in media.SPEECH:
        samples, sr = sf.read(files[speech.file], dtype="float32")
        assert sr == 16000 and samples.ndim == 1, speech.file
        assert 0.3 < len(samples) / sr < 6.0, speech.file
        assert np.sqrt(np.mean(samples**2)) > 0.02, f"{speech.file} is (nearly) silent"
        voices.setdefault(speech.text, set()).add(speech.voice)
    assert len(voices[media.ROCKET_SENTENCE]) == 2 and len(voices["garden"]) == 2
    tone, sr = sf.read(files[media.TONE[0]], dtype="float32")
    assert sr == 16000 and tone.ndim == 1 and len(tone) == 2 * sr
    spectrum = np.abs(np.fft.rfft(tone))
    assert np.fft.rfftfreq(len(tone), 1 / sr)[spectrum.argmax()] == pytest.approx(440, abs=1)


def _colour_histogram(img: Image.Image) -> np.ndarray:
    quantised = np.asarray(img.convert("RGB").resize((64, 48))) // 64  # 4 levels a channel
    codes = quantised[..., 0] * 16 + quantised[..., 1] * 4 + quantised[..., 2]
    return np.bincount(codes.ravel(), minlength=64) / codes.size


def test_videos_are_small_clips_over_the_photos():
    clips = {c.file: c for c in media.CLIPS}
    assert {p.name for p in sample_files("video")} == set(clips)
    photo_histograms = {
        s.folder: _colour_histogram(Image.open(SAMPLE / "images" / s.folder / f"{s.folder}.jpg"))
        for s in media.PHOTOS
    }
    for name, clip in clips.items():
        path = SAMPLE / "video" / name
        assert path.stat().st_size <= 300 * 1024
        with av.open(str(path)) as container:
            assert 2.0 <= container.duration / av.time_base <= 4.1
            kinds = sorted(s.type for s in container.streams)
            assert kinds == (["audio", "video"] if clip.speech else ["video"]), name
            stream = container.streams.video[0]
            assert (stream.codec_context.width, stream.codec_context.height) == media.VIDEO_SIZE
            frames = [f.to_image() for f in container.decode(video=0)]
        assert len(frames) >= 2 * media.VIDEO_FPS
        # what the camera films is its photo: the nearest photo by colour histogram is its own subject
        middle = _colour_histogram(frames[len(frames) // 2])
        nearest = max(photo_histograms, key=lambda s: np.minimum(middle, photo_histograms[s]).sum())
        assert nearest == clip.photo, name
        if clip.speech:
            with av.open(str(path)) as container:
                audio = container.streams.audio[0]
                assert audio.codec_context.sample_rate == 16000 and audio.codec_context.channels == 1
                samples = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
            assert np.sqrt(np.mean(samples**2)) > 0.02


@needs_espeak
def test_command_regenerates_audio_and_video(tmp_path):
    out = tmp_path / "regen"
    env = {**os.environ, "PYTHONPATH": str(media.REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.media", "sample-data", str(out), "--only", "audio,video"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "audio: 10 files" in done.stderr and "video: 3 files" in done.stderr
    made = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert made == sorted(p.relative_to(SAMPLE) for p in sample_files("audio") + sample_files("video"))
    tone_name = media.TONE[0]
    assert np.array_equal(sf.read(out / "audio" / tone_name)[0], sf.read(SAMPLE / "audio" / tone_name)[0])
    for speech in media.SPEECH:
        fresh, committed = (sf.info(root / "audio" / speech.file) for root in (out, SAMPLE))
        assert (fresh.samplerate, fresh.channels) == (committed.samplerate, committed.channels) == (16000, 1)
        assert fresh.duration == pytest.approx(committed.duration, rel=0.05), speech.file  # espeak versions
    for clip in media.CLIPS:
        with av.open(str(out / "video" / clip.file)) as a, av.open(str(SAMPLE / "video" / clip.file)) as b:
            frames_a = [f.to_ndarray(format="rgb24").astype(np.int16) for f in a.decode(video=0)]
            frames_b = [f.to_ndarray(format="rgb24").astype(np.int16) for f in b.decode(video=0)]
        if clip.speech is None:  # same photo, same camera path: the same pictures
            assert len(frames_a) == len(frames_b)
            assert max(np.abs(x - y).mean() for x, y in zip(frames_a, frames_b, strict=False)) < 1.0, (
                clip.file
            )
        else:  # the clip lasts as long as the speech, which may differ by espeak-ng version
            assert abs(len(frames_a) - len(frames_b)) <= 2


def test_command_rejects_an_unknown_part(capsys):
    with pytest.raises(SystemExit) as exit_info:
        media.main(["sample-data", "out", "--only", "audio,pictures"])
    assert exit_info.value.code == 2
    assert "unknown part(s) pictures" in capsys.readouterr().err


def test_photos_skip_cleanly_without_scikit_image(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)  # makes `import skimage` fail as if absent
    lines: list[str] = []
    assert media.make_sample_data(tmp_path, ["images"], log=lines.append) == []
    assert lines == [
        (
            "images: skipped, scikit-image is not installed (pip install scikit-image); "
            "videos are filmed from the committed sample_data/images"
        )
    ]
    assert not (tmp_path / "images").exists()


def test_photos_regenerate_identically(tmp_path):
    pytest.importorskip(
        "skimage",
        reason="scikit-image (used only to rebuild the photos) is not installed",
        exc_type=ImportError,
    )
    made = media.make_images(tmp_path, log=lambda line: None)
    assert sorted(p.relative_to(tmp_path) for p in made) == [
        p.relative_to(SAMPLE) for p in sample_files("images")
    ]
    for path in made:
        with Image.open(path) as fresh, Image.open(SAMPLE / path.relative_to(tmp_path)) as committed:
            assert fresh.mode == committed.mode and fresh.size == committed.size
            diff = np.abs(np.asarray(fresh, np.int16) - np.asarray(committed, np.int16))
            assert diff.mean() < 1.0, path


def test_writers_follow_the_extension(tmp_path, monkeypatch):
    noise = media.noise(tmp_path / "noise.flac", seconds=0.5, sr=8000)
    samples, sr = sf.read(noise)
    assert sr == 8000 and len(samples) == 4000 and 0.03 < np.std(samples) < 0.1
    quiet, _ = sf.read(media.silence(tmp_path / "quiet.wav", seconds=0.25))
    assert len(quiet) == 4000 and not quiet.any()
    m4a = media.tone(tmp_path / "tone.m4a", 1000, seconds=1.0)  # AAC in MP4: a file only PyAV decodes
    with av.open(str(m4a)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        decoded = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    assert len(decoded) >= 16000 and np.abs(decoded).max() > 0.3
    with pytest.raises(ValueError, match="no audio writer for '.xyz'"):
        media.write_audio(tmp_path / "x.xyz", np.zeros(10))
    frames = [np.full((63, 81, 3), level, np.uint8) for level in (0, 128, 255)]  # odd sides lose a pixel
    video = media.write_video(tmp_path / "grey.mp4", frames, fps=3)
    with av.open(str(video)) as container:
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert [f.shape for f in decoded] == [(62, 80, 3)] * 3
    assert [round(f.mean()) for f in decoded] == pytest.approx([0, 128, 255], abs=4)
    monkeypatch.setattr(media, "video_codec", lambda: "mpeg4")  # the fallback for PyAV builds without x264
    with av.open(str(media.write_video(tmp_path / "mpeg4.mp4", frames, fps=3))) as container:
        assert container.streams.video[0].codec_context.name == "mpeg4"
        assert sum(1 for _ in container.decode(video=0)) == 3
