"""The multimodal Perceiver adapter on a tiny random PerceiverConfig saved to disk: 16 frames plus audio
in, the mean latent out, Kinetics-style labels when the config names them, and `vexplore index` with it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vexplore.engine.models import registry
from vexplore.engine.models.base import DecodeError

from .av_fixtures import loaded, tiny_perceiver_dir, write_video
from .clirun import run_cli


@pytest.fixture(scope="session")
def folder(tmp_path_factory):
    return tiny_perceiver_dir(str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="session")
def perceiver(folder):
    return loaded(str(folder))


def test_folder_is_detected_as_perceiver(folder):
    spec = registry.resolve(str(folder))
    assert spec.family == "perceiver" and spec.modalities == ("video",)
    assert registry.resolve("perceiver").ref == "deepmind/multimodal-perceiver"


def test_decode_gives_16_frames_and_the_middle_of_the_sound(perceiver, tmp_path):
    decoded = perceiver.decode(write_video(tmp_path / "clip.mp4", seconds=2.0), "video")
    (part,) = decoded.parts
    assert part["image"].shape == (16, 3, 32, 32) and part["image"].dtype == np.float32
    assert part["image"].min() >= 0.0 and part["image"].max() <= 1.0
    reds = part["image"][:, 0].mean(axis=(1, 2))
    assert np.all(np.diff(reds) >= -0.02) and reds[-1] - reds[0] > 0.7  # frames spread over the video
    assert part["audio"].shape == (1024, 1)
    assert 0.2 < np.abs(part["audio"]).max() < 0.4  # the 0.3 tone, not silence
    assert decoded.meta["fps"] == 25.0 and decoded.thumbnail[:2] == b"\xff\xd8"


def test_silent_video_gets_silence(perceiver, tmp_path):
    (part,) = perceiver.decode(write_video(tmp_path / "mute.mp4", seconds=1.0, audio=False), "video").parts
    assert not part["audio"].any()


def test_embed_is_the_mean_latent_with_labels(perceiver, tmp_path):
    import torch

    parts = [
        perceiver.decode(write_video(tmp_path / f"v{i}.mp4", seconds=1.0, audio=i == 0), "video").parts[0]
        for i in range(3)
    ]
    out = perceiver.embed(parts)
    assert out.vectors.shape == (3, 32) and np.all(np.isfinite(out.vectors))
    assert len(out.labels) == 3 and len(out.labels[0]) == 5
    assert {name for name, _ in out.labels[0]} == {"juggling", "surfing", "cooking", "dancing", "reading"}
    assert abs(sum(p for _, p in out.labels[0]) - 1.0) < 1e-4
    inputs = {k: torch.from_numpy(parts[0][k][None]) for k in ("image", "audio")}
    inputs["label"] = torch.zeros((1, 5))
    with torch.inference_mode():
        sub = {"image": torch.arange(1), "audio": torch.arange(1), "label": None}
        latents = (
            perceiver.model.perceiver(inputs=inputs, subsampled_output_points=sub)
            .last_hidden_state[0]
            .numpy()
        )
    np.testing.assert_allclose(out.vectors[0], latents.mean(axis=0), rtol=1e-4, atol=1e-5)
    perceiver.requested_batch = 1
    one_by_one = perceiver.embed(parts).vectors
    perceiver.requested_batch = None
    np.testing.assert_allclose(out.vectors, one_by_one, rtol=1e-4, atol=1e-5)


def test_broken_video_is_a_reason(perceiver, tmp_path):
    (tmp_path / "bad.mp4").write_text("no video here\n" * 20)
    with pytest.raises(DecodeError, match="not a readable video"):
        perceiver.decode(tmp_path / "bad.mp4", "video")


def test_index_a_folder_with_the_perceiver(folder, tmp_path):
    data = tmp_path / "videos"
    data.mkdir()
    write_video(data / "a.mp4", seconds=1.0)
    write_video(data / "b.mkv", seconds=1.5, audio=False)
    (data / "broken.mp4").write_bytes(b"")
    run = run_cli("index", str(data), "--model", str(folder), "--json", "--workers", "0", timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout)
    assert summary["embedded"] == 2 and summary["failed"] == 1
    assert summary["errors"] == [{"path": "broken.mp4", "reason": "empty file (0 bytes)"}]
    hits = run_cli("neighbors", str(data), "a.mp4", "--json")
    assert hits.returncode == 0, hits.stderr[-2000:]
    assert [h["path"] for h in json.loads(hits.stdout)["neighbors"]] == ["b.mkv"]
