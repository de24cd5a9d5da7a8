"""Video: frames per second sampled by `sample_frames` (keyframe seeking) against decoding every frame
and keeping the same ones, and frames per second decoded and embedded by `vexplore index` with the
model that embeds video (the default image model, or --model).

  python benchmarks/bench_video.py [--videos 6] [--seconds 30] [--model NAME]

Videos are written with PyAV: 480×270 H.264 at 25 fps with a keyframe every 2 s, content that changes
over time (so the encoder cannot make every frame trivial).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def make_videos(folder: Path, count: int, seconds: float) -> list[Path]:
    import av

    rng = np.random.default_rng(0)
    paths = []
    for v in range(count):
        path = folder / f"video{v:02d}.mp4"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = 480, 270, "yuv420p"
            stream.codec_context.gop_size = 50
            base = rng.integers(0, 255, (270, 480, 3), dtype=np.uint8)
            for i in range(int(seconds * 25)):
                frame = np.roll(base, 4 * i, axis=1)
                frame[:, :, v % 3] = frame[:, :, v % 3] // 2 + (i % 128)
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        paths.append(path)
    return paths


def decode_all(path: Path, n: int) -> int:
    """The baseline: decode every frame, keep n evenly spaced ones (same choice as sample_frames)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        total = stream.frames
        wanted = {int((i + 0.5) * total / n) for i in range(n)}
        kept = [f.to_image() for k, f in enumerate(container.decode(stream)) if k in wanted]
    return len(kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--model", default=None, help="a model that embeds video (default: the default one)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from vexplore.engine.decode.video import sample_frames
    from vexplore.engine.models import registry
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_videos(folder, args.videos, args.seconds)
        sampled = args.videos * args.frames
        start = time.perf_counter()
        got = sum(len(sample_frames(p, n=args.frames)[0]) for p in paths)
        seek_s = time.perf_counter() - start
        start = time.perf_counter()
        base = sum(decode_all(p, args.frames) for p in paths)
        full_s = time.perf_counter() - start
        assert got == base == sampled, (got, base, sampled)
        result = {
            "videos": args.videos,
            "seconds_each": args.seconds,
            "frames_each": args.frames,
            "sample_frames_fps": round(sampled / seek_s, 1),
            "decode_everything_fps": round(sampled / full_s, 1),
            "seek_speedup": round(full_s / seek_s, 2),
        }
        spec = registry.resolve(args.model) if args.model else registry.default_for("video")
        if spec is None or "video" not in spec.modalities:
            result["embed"] = "no model that embeds video is installed in this build"
        else:
            store = folder / ".vexplore"
            shutil.rmtree(store, ignore_errors=True)
            summary = index_folder(folder, store, Options(models=[spec.name]))
            (report,) = summary.models
            assert report.seconds, report
            with Store(folder, store) as catalog:  # frames the model's decode took (the Perceiver takes 16)
                frames = sum(f.meta.get("sampled", 0) for f in catalog.files().values())
            result.update(
                model=spec.name,
                embedded=report.embedded,
                index_s=report.seconds,
                index_frames_per_s=round(frames / report.seconds, 1),
            )
    result["cores"] = len(os.sched_getaffinity(0))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
