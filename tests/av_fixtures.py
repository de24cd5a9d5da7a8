"""What the media tests need beyond tests/media.py: audio in containers it does not write (Opus, an
audio-only .mp4), videos with a chosen codec, keyframe interval and frames made on the fly (a gradient
whose colour tells the time), and tiny random Whisper/Perceiver models saved to disk so the real loading
code runs. Model loads are cached for the whole session."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .media import sine


def write_av_audio(path: Path, samples: np.ndarray, sr: int, codec: str, fmt: str | None = None) -> Path:
    """Mono float samples encoded with an FFmpeg codec (aac → m4a, libopus → opus, ...)."""
    import av

    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=sr)
        stream.layout = "mono"
        for start in range(0, len(samples), 960):
            frame = av.AudioFrame.from_ndarray(
                samples[None, start : start + 960].astype(np.float32), format="flt", layout="mono"
            )
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def gradient_frame(i: int, n: int, size: tuple[int, int]) -> np.ndarray:
    """A frame whose red channel rises and green falls with time, so frame order can be read back."""
    img = np.zeros((size[1], size[0], 3), np.uint8)
    img[..., 0] = round(255 * i / max(1, n - 1))
    img[..., 1] = 255 - round(255 * i / max(1, n - 1))
    return img


def write_video(
    path: Path,
    seconds: float = 4.0,
    fps: int = 25,
    size: tuple[int, int] = (160, 120),
    codec: str = "libx264",
    audio: bool = True,
    gop: int | None = None,
    frames=None,
) -> Path:
    """A real video file: gradient frames (or the given ones), optionally with a 440 Hz AAC track."""
    import av

    n = int(seconds * fps)
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        if gop:
            vs.codec_context.gop_size = gop
        astream = None
        if audio:
            astream = out.add_stream("aac", rate=48000)
            astream.layout = "mono"
        for i in range(n):
            img = frames(i, n) if frames else gradient_frame(i, n, size)
            for packet in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        if astream is not None:
            sound = sine(440.0, seconds, 48000, 0.3)
            for start in range(0, len(sound), 1024):
                frame = av.AudioFrame.from_ndarray(
                    sound[None, start : start + 1024], format="flt", layout="mono"
                )
                frame.sample_rate = 48000
                for packet in astream.encode(frame):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path


def dominant_freq(samples: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / sr)[int(np.argmax(spectrum))])


@functools.cache
def tiny_whisper_dir(root: str) -> Path:
    """A tiny random Whisper (transformers) with its feature extractor, saved like a hub download."""
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    folder = Path(root) / "tiny-whisper"
    config = WhisperConfig(
        vocab_size=128,
        num_mel_bins=80,
        d_model=32,
        encoder_layers=2,
        encoder_attention_heads=2,
        decoder_layers=1,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=32,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    )
    WhisperForConditionalGeneration(config).save_pretrained(folder)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder


@functools.cache
def tiny_perceiver_dir(root: str, named_labels: bool = True) -> Path:
    """A tiny random multimodal Perceiver (16 frames of 32 px, 1024 audio samples), saved to disk."""
    from transformers import PerceiverConfig, PerceiverForMultimodalAutoencoding

    folder = Path(root) / "tiny-perceiver"
    labels = {i: name for i, name in enumerate(["juggling", "surfing", "cooking", "dancing", "reading"])}
    config = PerceiverConfig(
        num_latents=8,
        d_latents=32,
        d_model=16,
        num_blocks=1,
        num_self_attends_per_block=1,
        num_self_attention_heads=2,
        num_cross_attention_heads=1,
        image_size=32,
        num_frames=16,
        audio_samples_per_frame=64,
        samples_per_patch=16,
        output_shape=(1, 16, 32, 32),
        output_num_channels=16,
        _label_trainable_num_channels=16,
        num_labels=5,
        id2label=labels if named_labels else None,
    )
    PerceiverForMultimodalAutoencoding(config).save_pretrained(folder)
    return folder


@functools.cache
def loaded(name: str):
    """A loaded adapter for a model name or folder, shared by every test in the session."""
    from vexplore.engine.models import registry

    adapter = registry.create(registry.resolve(name))
    adapter.load("cpu")
    return adapter
