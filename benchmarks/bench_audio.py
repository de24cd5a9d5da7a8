"""Audio throughput of `vexplore index` against one clip at a time, with the same Whisper model in the
same run. Clips are espeak-ng sentences (1–6 s), so the numbers are about speech-length files.

  python benchmarks/bench_audio.py [--clips 32] [--model whisper-tiny.en] [--rounds 2]

Reports, per round: the plain loop (decode → features → one encoder call per clip → pool, all in one
process), `index_folder` as `vexplore index` runs it (loader workers decode while the encoder runs,
several clips per encoder call), and the model alone (adapter.embed) at one window per call vs
batch_size() per call on the same decoded windows, which isolates what batching itself buys here.
Ratios, not absolute times, are the result.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

SENTENCES = [
    "good morning",
    "the cat sat on the mat",
    "please close the window before you leave",
    "seven",
    "where is the train station",
    "it is raining again today",
    "a quick brown fox jumps over the lazy dog",
    "thank you very much",
    "turn left at the next corner",
    "the meeting starts at nine o'clock tomorrow morning",
    "yes",
    "can you hear me now",
]


def make_clips(folder: Path, n: int) -> list[Path]:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("bench_audio needs espeak-ng (make system-deps)")
    voices = ["en-us", "en-gb", "en-us+f3", "en-gb+m3"]
    paths = []
    for i in range(n):
        path = folder / f"clip{i:03d}.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                voices[i % len(voices)],
                "-s",
                str(130 + 7 * (i % 6)),
                "-w",
                str(path),
                SENTENCES[i % len(SENTENCES)],
            ],
            check=True,
            capture_output=True,
        )
        paths.append(path)
    return paths


def one_at_a_time(adapter, paths: list[Path]) -> float:
    """The plain baseline: every clip decoded and encoded alone, in this process."""
    start = time.perf_counter()
    for path in paths:
        adapter.embed(adapter.decode(path, "audio").parts)  # a one-window clip: one encoder call
    return time.perf_counter() - start


def index_run(folder: Path, model: str) -> float:
    """`vexplore index` as the CLI runs it; the model's own seconds (decode+embed+store, not loading)."""
    from vexplore.engine.pipeline import Options, index_folder

    store = folder / ".vexplore"
    shutil.rmtree(store, ignore_errors=True)
    summary = index_folder(folder, store, Options(models=[model]))
    (report,) = summary.models
    assert report.failed == 0 and report.embedded == len(list(folder.glob("*.wav"))), report
    assert report.seconds is not None, report
    return report.seconds


def encoder_only(adapter, parts: list) -> tuple[float, float]:
    """The same decoded windows embedded one per call, then batch_size() per call."""
    start = time.perf_counter()
    for part in parts:
        adapter.embed([part])
    single = time.perf_counter() - start
    start = time.perf_counter()
    adapter.embed(parts)
    return single, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--model", default="whisper-tiny.en")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from vexplore.engine.models import registry

    adapter = registry.create(registry.resolve(args.model))
    adapter.load("cpu")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = make_clips(folder, args.clips)
        seconds_of_audio = sum(adapter.decode(p, "audio").meta["decoded_seconds"] for p in paths)
        parts = [part for p in paths for part in adapter.decode(p, "audio").parts]
        rows = []
        for r in range(args.rounds):
            base = one_at_a_time(adapter, paths)
            piped = index_run(folder, args.model)
            single, batched = encoder_only(adapter, parts)
            rows.append(
                {
                    "round": r,
                    "baseline_s": round(base, 2),
                    "index_s": round(piped, 2),
                    "index_speedup": round(base / piped, 2),
                    "encoder_b1_s": round(single, 2),
                    f"encoder_b{adapter.batch_size()}_s": round(batched, 2),
                    "batching_speedup": round(single / batched, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print(
        json.dumps(
            {
                "model": args.model,
                "clips": args.clips,
                "audio_seconds": round(seconds_of_audio, 1),
                "cores": len(os.sched_getaffinity(0)),
                "batch": adapter.batch_size(),
                "clips_per_s_baseline": round(
                    args.clips / statistics.median(r["baseline_s"] for r in rows), 2
                ),
                "clips_per_s_index": round(args.clips / statistics.median(r["index_s"] for r in rows), 2),
                "index_speedup_median": statistics.median(r["index_speedup"] for r in rows),
                "batching_speedup_median": statistics.median(r["batching_speedup"] for r in rows),
            }
        )
    )


if __name__ == "__main__":
    main()
