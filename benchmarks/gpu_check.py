"""The GPU check: every figure issue 16 asks for, in one run, as JSON lines on stdout and in a file.

    benchmarks/gpu_check.sh                          # on a GPU box (one H200 + 16 cores: < 8 min)
    benchmarks/gpu_check.sh --smoke --device cpu     # everything tiny, on the cpu (< 2 min)

Random weights of the real architectures (gpu_models.py), generated texts, JPEGs and audio: no network,
no weights. Checks: text (MiniLM-L6 and MPNet-base: `vexplore index` docs/s against plain
`SentenceTransformer.encode` on the same texts), images (ResNet-50 end to end images/s, GPU busy share,
the decode pool's own rate and so the bottleneck), audio (Whisper-base encoder clips/s batched against
one at a time), the OOM back-off on purpose, and a run with one worker per GPU when more than one is
visible. Ratios are within one run, so they compare like with like."""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_models  # noqa: E402

SIZES = {
    "full": {"docs": 20000, "images": 8000, "clips": 256, "oom_parts": 8192},
    "smoke": {"docs": 120, "images": 40, "clips": 6, "oom_parts": 24},
}
WORDS = [
    "vector",
    "index",
    "model",
    "image",
    "audio",
    "query",
    "store",
    "batch",
    "device",
    "memory",
    "kernel",
    "token",
    "layer",
    "graph",
]


class Report:
    """Each figure as one JSON line, on stdout and appended to the output file."""

    def __init__(self, out: Path, device: str, smoke: bool):
        self.out, self.device, self.smoke = out, device, smoke
        out.write_text("")

    def emit(self, check: str, **figures: Any) -> None:
        line = json.dumps({"check": check, "device": self.device, "smoke": self.smoke, **figures})
        print(line, flush=True)
        with self.out.open("a") as f:
            f.write(line + "\n")


def vexplore_index(root: Path, model: Path, device: str, *extra: str, env: dict | None = None) -> dict:
    """`vexplore index` as a user runs it (a child process) into a fresh store: the model's report,
    with embedded/s over the embedding phase and the command's wall time."""
    store = Path(tempfile.mkdtemp(prefix="store-", dir=root.parent))
    cmd = [sys.executable, "-m", "vexplore", "index", str(root), "--model", str(model), "--device", device]
    started = time.perf_counter()
    done = subprocess.run(
        [*cmd, "--store", str(store), "--json", *extra],
        capture_output=True,
        text=True,
        env=os.environ | (env or {}),
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"vexplore index failed: {done.stderr.strip().splitlines()[-1:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    report = summary["models"][0]
    report["rate"] = report["embedded"] / max(report["seconds"], 1e-9)
    report["wall_seconds"] = round(time.perf_counter() - started, 2)
    return report


class Busy:
    """The GPU's busy share while a block runs (NVML through torch, else nvidia-smi); None off CUDA."""

    def __init__(self, device: str):
        self.index = int(device.partition(":")[2] or 0) if device.startswith("cuda") else None
        self.samples: list[float] = []
        self.stop = threading.Event()

    def sample(self) -> float | None:
        try:
            import torch

            return float(torch.cuda.utilization(self.index))
        except Exception:  # noqa: BLE001 - no pynvml: ask nvidia-smi
            query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
            try:
                got = subprocess.run(
                    [*query, "-i", str(self.index)], capture_output=True, text=True, timeout=5
                )
                return float(got.stdout.strip())
            except (OSError, ValueError, subprocess.SubprocessError):
                return None

    def __enter__(self) -> Busy:
        def loop() -> None:
            while not self.stop.wait(0.2):
                if (value := self.sample()) is not None:
                    self.samples.append(value)

        if self.index is not None:
            self.thread = threading.Thread(target=loop, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()

    @property
    def share(self) -> float | None:
        return round(sum(self.samples) / len(self.samples) / 100, 3) if self.samples else None


def synced(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)


def check_text(rep: Report, work: Path, device: str, n: int, small: bool) -> None:
    rng = random.Random(0)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(10, 60))) for _ in range(n)]
    root = work / "texts"
    root.mkdir(exist_ok=True)
    for i, text in enumerate(texts):
        (root / f"doc{i:06d}.txt").write_text(text)
    from sentence_transformers import SentenceTransformer

    for arch in ("minilm", "mpnet"):
        folder = gpu_models.sentence_model(work / "models", arch, small)
        run = vexplore_index(root, folder, device)
        model = SentenceTransformer(str(folder), device=device)
        model.encode(texts[:256], batch_size=128)  # warm-up
        synced(device)
        started = time.perf_counter()
        model.encode(texts, batch_size=128, show_progress_bar=False)
        synced(device)
        plain = n / (time.perf_counter() - started)
        rep.emit(
            "text",
            model=arch,
            docs=n,
            vexplore_docs_s=round(run["rate"], 1),
            encode_docs_s=round(plain, 1),
            ratio=round(run["rate"] / plain, 2),
            goal_ratio=1.3,
            batch_size=run.get("batch_size"),
            wall_seconds=run["wall_seconds"],
        )
        del model


def _jpeg(args: tuple[Path, int, tuple[int, int]]) -> None:
    from PIL import Image, ImageFilter

    path, seed, size = args
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (size[1] // 16, size[0] // 16, 3), np.uint8)
    img = Image.fromarray(small).resize(size, Image.BICUBIC).filter(ImageFilter.GaussianBlur(2))
    img.save(path, quality=90)


def make_jpegs(root: Path, n: int, size: tuple[int, int]) -> Path:
    root.mkdir(exist_ok=True)
    jobs = [(root / f"img{i:06d}.jpg", i, size) for i in range(n)]
    with Pool(max(1, len(os.sched_getaffinity(0)))) as pool:
        pool.map(_jpeg, jobs, chunksize=64)
    return root


def decode_rate(folder: Path, root: Path, device: str) -> tuple[float, int]:
    """Images/s of the decode pool alone (no model): what the GPU could be fed at most."""
    from vexplore.engine.catalog import FileRow
    from vexplore.engine.loader import decoded, default_workers
    from vexplore.engine.models import registry
    from vexplore.engine.scan import scan

    adapter = registry.create(registry.resolve(str(folder)))
    adapter.load("cpu")
    entries, _ = scan(root)
    files = [
        FileRow(i, e.path, e.raw, e.modality, e.size, e.mtime_ns, None, {}) for i, e in enumerate(entries)
    ]
    workers = default_workers(device)  # as many as the indexing run on that device had
    started = time.perf_counter()
    count = sum(1 for _ in decoded(adapter, root, files, workers))
    return count / (time.perf_counter() - started), workers


def check_images(rep: Report, work: Path, device: str, n: int, small: bool) -> tuple[Path, Path, float]:
    root = make_jpegs(work / "images", n, (160, 120) if small else (640, 480))
    folder = gpu_models.resnet50(work / "models", small)
    with Busy(device) as busy:
        run = vexplore_index(root, folder, device)
    rate, workers = decode_rate(folder, root, device)
    bottleneck = "decode" if rate < 1.2 * run["rate"] else "model"
    rep.emit(
        "images",
        model="resnet50",
        images=n,
        images_s=round(run["rate"], 1),
        goal_images_s=2500,
        gpu_busy=busy.share,
        batch_size=run.get("batch_size"),
        wall_seconds=run["wall_seconds"],
    )
    rep.emit("decode_pool", workers=workers, images_s=round(rate, 1), bottleneck=bottleneck)
    return root, folder, run["rate"]


def loaded(folder: Path, device: str, batch: int | None = None) -> Any:
    from vexplore.engine.batching import attach
    from vexplore.engine.models import registry

    adapter = registry.create(registry.resolve(str(folder)))
    adapter.requested_batch = batch
    adapter.load(device)
    attach(adapter)
    return adapter


def check_audio(rep: Report, work: Path, device: str, n: int, small: bool) -> None:
    from vexplore.engine.batching import embed_parts
    from vexplore.engine.models.whisper import Window, audio_frames

    adapter = loaded(gpu_models.whisper_base(work / "models", small), device)
    rng = np.random.default_rng(0)
    clips = [rng.normal(0, 0.1, 16000 * int(rng.integers(5, 30))).astype(np.float32) for _ in range(n)]
    parts = [Window(adapter.features(c), audio_frames(len(c))) for c in clips]
    embed_parts(adapter, parts[:2])  # warm-up
    synced(device)
    started = time.perf_counter()
    embed_parts(adapter, parts)
    synced(device)
    batched = n / (time.perf_counter() - started)
    started = time.perf_counter()
    for part in parts:
        adapter.embed([part])
    synced(device)
    single = n / (time.perf_counter() - started)
    rep.emit(
        "audio",
        model="whisper-base encoder",
        clips=n,
        batched_clips_s=round(batched, 1),
        one_at_a_time_clips_s=round(single, 1),
        ratio=round(batched / single, 2),
        batch_size=adapter.batch_size(),
    )


def check_oom(rep: Report, folder: Path, root: Path, device: str, n: int) -> None:
    """A batch far too large on purpose: the sizer halves until it fits, every part is embedded once
    and the vectors match a run at a small batch. On the cpu the OOM is raised by a wrapper above 8."""
    import torch

    from vexplore.engine.batching import BatchSizer, embed_parts

    adapter = loaded(folder, device, batch=8)
    files = sorted(root.iterdir())[:16]
    seeds = [adapter.decode(path, "image").parts[0] for path in files]
    parts = [seeds[i % len(seeds)] for i in range(n)]
    reference = embed_parts(adapter, seeds).vectors
    simulated = not device.startswith("cuda")
    if simulated:
        inner = adapter.embed

        def embed(batch: list) -> Any:
            if len(batch) > 8:
                raise torch.cuda.OutOfMemoryError("simulated: CUDA out of memory")
            return inner(batch)

        adapter.embed = embed
    adapter.sizer = sizer = BatchSizer(n)
    started = time.perf_counter()
    got = embed_parts(adapter, parts).vectors
    synced(device)
    seconds = time.perf_counter() - started
    want = reference[[i % len(seeds) for i in range(n)]]
    cosine = (got * want).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    rep.emit(
        "oom_backoff",
        simulated=simulated,
        asked_batch=n,
        settled_batch=sizer.size,
        oom_errors=sizer.oom,
        parts=n,
        embedded=len(got),
        least_cosine_vs_small_batch=round(float(cosine.min()), 5),
        seconds=round(seconds, 2),
    )


def check_multi(rep: Report, root: Path, folder: Path, device: str, single: float) -> None:
    """--gpus all: one embedding worker per GPU (on the cpu smoke, two cpu workers via the test hook)."""
    if device == "cpu":
        run = vexplore_index(root, folder, "cpu", "--gpus", "all", env={"VEXPLORE_FAKE_GPUS": "cpu,cpu"})
        rep.emit(
            "multi_gpu", simulated="2 cpu workers", images_s=round(run["rate"], 1), device_used=run["device"]
        )
        return
    import torch

    count = torch.cuda.device_count()
    if count < 2:
        rep.emit("multi_gpu", skipped=f"{count} GPU visible: a run over several GPUs was not measured")
        return
    run = vexplore_index(root, folder, device, "--gpus", "all")
    rep.emit("multi_gpu", gpus=count, images_s=round(run["rate"], 1), scaling=round(run["rate"] / single, 2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true", help="tiny models and data (the cpu check)")
    parser.add_argument("--out", default="gpu_check.jsonl", help="where the JSON lines go too")
    parser.add_argument("--only", default="text,images,audio,oom,multi", help="checks to run")
    args = parser.parse_args()
    size = SIZES["smoke" if args.smoke else "full"]
    only = set(args.only.split(","))
    rep = Report(Path(args.out), args.device, args.smoke)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        work = Path(tmp)
        (work / "models").mkdir()
        if "text" in only:
            check_text(rep, work, args.device, size["docs"], args.smoke)
        if only & {"images", "oom", "multi"}:
            root, folder, single = check_images(rep, work, args.device, size["images"], args.smoke)
            if "oom" in only:
                check_oom(rep, folder, root, args.device, size["oom_parts"])
            if "multi" in only:
                check_multi(rep, root, folder, args.device, single)
        if "audio" in only:
            check_audio(rep, work, args.device, size["clips"], args.smoke)
    rep.emit("total", seconds=round(time.perf_counter() - started, 1), date=time.strftime("%Y-%m-%d"))


if __name__ == "__main__":
    main()
