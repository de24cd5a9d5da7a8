"""engine/decode/video.py on real videos written with PyAV: uniform frames in time order, found by
seeking (a long video is not decoded whole), the facts and thumbnail the UI shows, reasons for bad files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from vexplore.engine.decode import video
from vexplore.engine.decode.video import probe, sample_frames
from vexplore.engine.models.base import DecodeError

from .av_fixtures import write_av_audio, write_video


def _red(img) -> int:
    return int(np.asarray(img)[..., 0].mean())


def test_frames_are_uniform_and_in_order(tmp_path):
    path = write_video(tmp_path / "ramp.mp4", seconds=4.0, fps=25)
    frames, meta, thumb = sample_frames(path, n=8)
    assert len(frames) == 8 and all(f.mode == "RGB" and f.size == (160, 120) for f in frames)
    reds = [_red(f) for f in frames]
    # frame k of 100 has red 255*k/99; sample i sits at (i + 0.5) / 8 of the video
    expected = [255 * ((i + 0.5) * 100 / 8) / 99 for i in range(8)]
    assert reds == sorted(reds)
    assert max(abs(r - e) for r, e in zip(reds, expected, strict=False)) < 8
    assert meta == {
        "duration": 4.0,
        "fps": 25.0,
        "width": 160,
        "height": 120,
        "frames": 100,
        "has_audio": True,
        "codec": "h264",
        "audio_codec": "aac",
        "sampled": 8,
    }
    thumbnail = Image.open(io.BytesIO(thumb))
    assert thumbnail.format == "JPEG"
    assert abs(_red(thumbnail) - reds[4]) < 8  # the sampled frame nearest the middle


def test_probe_reads_headers_only(tmp_path):
    meta = probe(write_video(tmp_path / "silent.webm", seconds=2.0, fps=10, codec="libvpx-vp9", audio=False))
    assert meta["has_audio"] is False and meta["codec"] == "vp9"
    assert meta["fps"] == 10.0 and meta["width"] == 160 and abs(meta["duration"] - 2.0) < 0.05


def test_large_frames_are_scaled_down(tmp_path):
    path = write_video(tmp_path / "big.mp4", seconds=0.4, fps=10, size=(1280, 720), audio=False)
    frames, meta, thumb = sample_frames(path, n=2)
    assert frames[0].size == (512, 288) and (meta["width"], meta["height"]) == (1280, 720)
    assert max(Image.open(io.BytesIO(thumb)).size) == 320
    full, _, _ = sample_frames(path, n=1, max_side=None)
    assert full[0].size == (1280, 720)


def test_short_video_gives_the_frames_it_has(tmp_path):
    frames, meta, _ = sample_frames(write_video(tmp_path / "five.mp4", seconds=0.2, fps=25, audio=False), n=8)
    assert 1 <= len(frames) <= 5 and meta["sampled"] == len(frames)


def test_long_video_is_not_decoded_whole(tmp_path, monkeypatch):
    """60 s at 10 fps with a keyframe every 2 s: 8 samples must cost far fewer than 600 decoded frames."""
    path = write_video(tmp_path / "long.mp4", seconds=60.0, fps=10, size=(64, 48), audio=False, gop=20)
    decoded = []
    original = video._decode_frames

    def counting(container, stream):
        for frame in original(container, stream):
            decoded.append(frame.time)
            yield frame

    monkeypatch.setattr(video, "_decode_frames", counting)
    frames, meta, _ = sample_frames(path, n=8)
    assert len(frames) == 8 and meta["frames"] == 600
    assert len(decoded) < 200, f"decoded {len(decoded)} of 600 frames"
    reds = [_red(f) for f in frames]
    assert reds == sorted(reds) and reds[-1] - reds[0] > 180


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: (d / "empty.mp4").write_bytes(b"") and None or d / "empty.mp4", "empty file"),
        (
            lambda d: (d / "notes.mkv").write_text("just text\n" * 100) and d / "notes.mkv",
            "not a readable video",
        ),
        (
            lambda d: write_av_audio(d / "sound.mp4", np.zeros(16000, np.float32), 16000, "aac"),
            "no video stream",
        ),
    ],
)
def test_broken_videos_give_a_reason(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(DecodeError, match=reason):
        sample_frames(path)
    with pytest.raises(DecodeError, match=reason):
        probe(path)


def test_truncated_video_gives_a_reason_or_the_frames_it_holds(tmp_path):
    good = write_video(tmp_path / "good.mkv", seconds=2.0, audio=False).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(good[: len(good) // 2])  # Matroska streams: the first half still plays
    frames, _, _ = sample_frames(cut, n=8)
    assert 1 <= len(frames) <= 8 and _red(frames[0]) < 100
    (tmp_path / "header.mp4").write_bytes(write_video(tmp_path / "g.mp4", seconds=1.0).read_bytes()[:64])
    with pytest.raises(DecodeError):
        sample_frames(tmp_path / "header.mp4")
