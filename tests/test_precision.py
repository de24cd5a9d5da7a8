"""bf16 autocast (what a GPU runs) against float32, on the cpu, on tiny random models of the real
architectures loaded through the real adapters: the vectors come back float32 and point the same way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vexplore.engine.index import normalise
from vexplore.engine.models import registry
from vexplore.engine.precision import autocast_dtype

MIN_COSINE = 0.999  # least cosine, bf16 vs float32 vector of one part (measured: 0.99996, CLIP)


def _text(base: Path) -> tuple[Path, list]:
    from tests.stats_corpus import tiny_model

    texts = [f"a sentence about topic {i} and a few more words " * (1 + i % 3) for i in range(12)]
    return tiny_model(base), texts


def _resnet(base: Path) -> tuple[Path, list]:
    from tests.image_models import build_tiny_resnet

    return build_tiny_resnet(base, head=False), _pictures(6, seed=0)


def _clip(base: Path) -> tuple[Path, list]:
    from tests.image_models import build_tiny_clip

    return build_tiny_clip(base), ["a red cat", "a dog", *_pictures(4, seed=1)]


def _pictures(n: int, seed: int) -> list:
    """Random RGB pictures; the adapter turns them into its own input size once loaded."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (48, 64, 3), np.uint8)) for _ in range(n)]


def _whisper(base: Path) -> tuple[Path, list]:
    from tests.av_fixtures import tiny_whisper_dir

    return tiny_whisper_dir(str(base)), ["audio"]  # parts are made from the loaded model below


BUILDERS = {"text": _text, "resnet": _resnet, "clip": _clip, "whisper": _whisper}


@pytest.mark.parametrize("family", list(BUILDERS))
def test_bf16_autocast_stays_close_to_float32(family: str, tmp_path: Path) -> None:
    import torch

    assert autocast_dtype("cpu") is None and autocast_dtype("cpu", "bf16") is torch.bfloat16
    folder, parts = BUILDERS[family](tmp_path)
    adapter = registry.create(registry.resolve(str(folder)))
    adapter.load("cpu")
    if family == "whisper":
        from vexplore.engine.models.whisper import Window, audio_frames

        rng = np.random.default_rng(2)
        clips = [rng.normal(0, 0.1, 16000 * s).astype(np.float32) for s in (1, 3, 7)]
        parts = [Window(adapter.features(c), audio_frames(len(c))) for c in clips]
    parts = [adapter.preprocess(p) if hasattr(p, "convert") else p for p in parts]
    adapter.precision = "fp32"
    full = adapter.embed(parts).vectors
    adapter.precision = "bf16"
    half = adapter.embed(parts).vectors
    assert full.dtype == np.float32 and half.dtype == np.float32 and half.shape == full.shape
    cosine = (normalise(full) * normalise(half)).sum(axis=1)
    assert cosine.min() >= MIN_COSINE, f"{family}: least cosine {cosine.min():.4f}"
    assert not np.array_equal(full, half)  # bf16 really ran
