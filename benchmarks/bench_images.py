"""Image indexing throughput: `vexplore index` against the seed's recipe, on the same images, in one run.

The seed's recipe is the plain loop every tutorial shows: for each batch, open every file with Pillow
(full decode), preprocess (resize, centre-crop, to float, normalise), stack, run the model under no_grad,
one batch after another in one process. `vexplore index` runs the real command (a child process, as a user
runs it), which decodes in DataLoader worker processes while the model works, opens JPEGs in draft mode,
and ships uint8 crops that are normalised in one tensor operation per batch.

Both sides use the same model (EfficientNet-Lite0 by default, the offline image default, or any
--model), the same preprocessing geometry and the same batch size. The images are generated variants
(crop, flip, colour, quality) of real photos shipped by pip packages, saved as 640x480 JPEGs by default.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_images.py            # ~1,000 images
    .venv/bin/python benchmarks/bench_images.py --images 200 --size 1600x1200

Prints images/s for each side and the ratio. The figure compared is the embedding phase (decode →
model → store), i.e. the `seconds` vexplore reports for its model; the whole command's wall time, with
Python start-up, scan and model load, is printed beside it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ("skimage", "data", n)
    for n in (
        "chelsea.png",
        "coffee.png",
        "rocket.jpg",
        "astronaut.png",
        "motorcycle_left.png",
        "motorcycle_right.png",
    )
]
SOURCES += [("sklearn", "datasets/images", n) for n in ("china.jpg", "flower.jpg")]


def source_photos() -> list[Image.Image]:
    photos = []
    for package, sub, name in SOURCES:
        spec = importlib.util.find_spec(package)
        if spec is None:
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / sub / name
        photos.append(Image.open(path).convert("RGB"))
    if not photos:
        sys.exit("needs scikit-image or scikit-learn for source photos: pip install -e '.[test]'")
    return photos


def make_images(folder: Path, count: int, size: tuple[int, int], seed: int = 0) -> None:
    """`count` JPEGs: random crops of the source photos, flipped, colour-jittered, at `size`
    (some portrait)."""
    rng = random.Random(seed)
    photos = source_photos()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        src = photos[i % len(photos)]
        w, h = src.size
        scale = rng.uniform(0.6, 1.0)
        cw, ch = int(w * scale), int(h * scale)
        left, top = rng.randint(0, w - cw), rng.randint(0, h - ch)
        img = src.crop((left, top, left + cw, top + ch))
        if rng.random() < 0.5:
            img = ImageOps.mirror(img)
        img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
        target = size if rng.random() < 0.8 else (size[1], size[0])
        img.resize(target, Image.BICUBIC).save(folder / f"img{i:05d}.jpg", quality=rng.randint(80, 95))


def seed_recipe(
    files: list[Path], model_name: str, batch: int, channels_last: bool = False
) -> tuple[float, float, int]:
    """Decode → preprocess → model, one batch after another in one process.
    Returns (seconds, CPU seconds of all its threads, images).
    The model is vexplore's adapter's network put back into PyTorch's default layout (channels_last=True
    keeps vexplore's NHWC layout: an ablation that shows what the layout alone is worth)."""
    import torch

    from vexplore.engine.models import registry

    adapter = registry.create(registry.resolve(model_name))
    adapter.load("cpu")
    layout = torch.channels_last if channels_last else torch.contiguous_format
    adapter.model.to(memory_format=layout)
    prep = adapter.prep
    mean = torch.tensor(prep.mean).view(3, 1, 1)
    std = torch.tensor(prep.std).view(3, 1, 1)

    def preprocess(img: Image.Image) -> torch.Tensor:  # Resize(short) + CenterCrop + ToTensor + Normalize
        w, h = img.size
        s = prep.short / min(w, h)
        img = img.resize((max(prep.short, round(w * s)), max(prep.short, round(h * s))), prep.resample)
        cw, ch = prep.crop
        left, top = (img.width - cw) // 2, (img.height - ch) // 2
        img = img.crop((left, top, left + cw, top + ch))
        x = torch.from_numpy(np.array(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
        return (x - mean) / std

    started, cpu = time.perf_counter(), time.process_time()
    done = 0
    with torch.no_grad():
        for start in range(0, len(files), batch):
            tensors = [preprocess(Image.open(p).convert("RGB")) for p in files[start : start + batch]]
            features, _ = adapter._forward(torch.stack(tensors).contiguous(memory_format=layout))
            done += features.shape[0]
    return time.perf_counter() - started, time.process_time() - cpu, done


def vexplore_index(
    folder: Path, model_name: str, batch: int, workers: int | None
) -> tuple[float, float, float, dict]:
    """The real command in a child process. Returns (embedding-phase seconds, wall seconds, CPU seconds of
    the whole command and its decoder processes, summary)."""
    shutil.rmtree(folder / ".vexplore", ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "vexplore",
        "index",
        str(folder),
        "--model",
        model_name,
        "--batch-size",
        str(batch),
        "--json",
    ]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    summary = json.loads(out.stdout)
    return summary["models"][0]["seconds"], wall, cpu, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--size", default="640x480", help="WIDTHxHEIGHT of the generated JPEGs")
    ap.add_argument("--model", default="effnet-lite0")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=None, help="vexplore decoder processes (default: cores-1)")
    ap.add_argument("--dir", type=Path, default=None, help="keep the generated images here")
    ap.add_argument("--rounds", type=int, default=3, help="pairs of runs, in alternating order")
    ap.add_argument(
        "--ablations",
        action="store_true",
        help="also: the seed recipe with a channels-last model, and vexplore with no decode workers",
    )
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))

    folder = args.dir or Path(tempfile.mkdtemp(prefix="vexplore-bench-images-"))
    try:
        t0 = time.perf_counter()
        if not any(folder.glob("img*.jpg")):
            make_images(folder, args.images, size)
        files = sorted(folder.glob("img*.jpg"))[: args.images]
        print(
            f"{len(files)} JPEGs of {size[0]}x{size[1]} in {folder} "
            f"({time.perf_counter() - t0:.1f}s to make); "
            f"model {args.model}, batch {args.batch_size}, {os.cpu_count()} cores"
        )
        ratios = []
        for r in range(args.rounds):  # alternate the order: a neighbor's load on the cores hits both sides
            if r % 2 == 0:
                base_s, base_cpu, n = seed_recipe(files, args.model, args.batch_size)
                ours_s, wall, ours_cpu, summary = vexplore_index(
                    folder, args.model, args.batch_size, args.workers
                )
            else:
                ours_s, wall, ours_cpu, summary = vexplore_index(
                    folder, args.model, args.batch_size, args.workers
                )
                base_s, base_cpu, n = seed_recipe(files, args.model, args.batch_size)
            assert summary["embedded"] == n, summary
            base_rate, ours_rate = n / base_s, n / ours_s
            ratios.append(ours_rate / base_rate)
            print(
                f"round {r + 1}: seed recipe    {base_s:7.2f} s {base_rate:7.1f} images/s | vexplore index "
                f"{ours_s:7.2f} s {ours_rate:7.1f} images/s | ratio {ratios[-1]:.2f}x | whole command "
                f"{wall:.2f} s ({(n / wall) / base_rate:.2f}x) | "
                f"CPU ms/image: seed {1000 * base_cpu / n:.0f}, "
                f"vexplore (whole command) {1000 * ours_cpu / n:.0f} | load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
        print(f"ratio (median of {len(ratios)} rounds): {statistics.median(ratios):.2f}x")
        if args.ablations:
            cl_s, _, _ = seed_recipe(files, args.model, args.batch_size, channels_last=True)
            inline_s, _, _, _ = vexplore_index(folder, args.model, args.batch_size, 0)
            print(
                f"ablation: seed recipe, channels-last model : {n / cl_s:7.1f} images/s "
                f"({base_s / cl_s:.2f}x)"
            )
            print(
                f"ablation: vexplore index --workers 0        : {n / inline_s:7.1f} images/s "
                f"({base_s / inline_s:.2f}x)"
            )
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
