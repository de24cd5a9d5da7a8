"""How fast the explorer opens a big store, and how fast neighbors follow the cursor.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_startup.py [--files 100000] [--runs 5]

1. Writes a synthetic store of N text files (random 384-d vectors, through the real Store.commit_batch
   and VectorIndex, no model) once, kept in /tmp/vexplore-bench-startup-N between runs.
2. First paint: runs the real `vexplore FOLDER` console script in a pseudo-terminal with
   VEXPLORE_FIRST_PAINT set, so the app (with the probe of vexplore/tui/first_paint.py, the one module
   that knows about this benchmark) records the moment its file list is on screen and exits. The
   figure is that moment minus the moment before the process was spawned (interpreter start included),
   next to two baselines from the same run: `python -c pass` and `python -c "import textual.app"`. The
   top of the list paints first; the moment all N files are listed (scrollable, filterable) follows.
   It also reports whether torch/transformers/sentence-transformers were imported on that path.
3. Neighbors: drives the app in process (Pilot) down the file list and reports the time from each
   cursor move to its neighbors on screen (median and p95; the first, which loads the index, apart).
Goals (issue 5): first paint ≤ 0.5 s, neighbors ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from fcntl import ioctl
from pathlib import Path

DIM = 384


def build_store(root: Path, n: int) -> None:
    """N files in 100 folders, with vectors and a saved index, through the real store code."""
    import numpy as np

    from vexplore.engine.index import VectorIndex
    from vexplore.engine.results import EmbeddedFile
    from vexplore.engine.scan import Entry
    from vexplore.engine.store import Store

    if (root / ".vexplore" / "done").exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    with Store(root, root / ".vexplore", create=True) as store:
        entries = []
        for i in range(n):
            path = f"topic{i % 100:03d}/note{i:06d}.txt"
            entries.append(
                Entry(path, path.encode(), "text", int(rng.integers(100, 50000)), 1_700_000_000 + i)
            )
        store.sync_files(entries, {})
        model = store.ensure_model(
            "minilm", "text", "sentence-transformers", ("text",), DIM, True, {"device": "cpu"}
        )
        files = sorted(store.files().values(), key=lambda f: f.id)
        centres = rng.normal(size=(100, DIM)).astype("float32")
        for start in range(0, n, 10000):
            chunk = files[start : start + 10000]
            vectors = centres[[int(f.path[5:8]) for f in chunk]] + rng.normal(size=(len(chunk), DIM)).astype(
                "f4"
            )
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            model = store.commit_batch(
                model, [EmbeddedFile(f, v, 1.0) for f, v in zip(chunk, vectors, strict=False)]
            )
        print(
            f"  wrote {n} files and vectors in {time.perf_counter() - started:.1f} s; building the index…",
            flush=True,
        )
        VectorIndex(store, store.model("minilm")).open(persist=True)
    (root / ".vexplore" / "done").write_text("1")
    print(f"  store ready in {time.perf_counter() - started:.1f} s", flush=True)


def in_terminal(cmd: list[str], env: dict, size=(120, 40), timeout: float = 60.0) -> float:
    """Run cmd in a pseudo-terminal of size (cols, rows) until it exits; returns when it was started."""
    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    started = time.time()
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)

    def drain() -> None:
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        proc.wait(timeout)
    finally:
        os.close(master)
    return started


def first_paint(root: Path, runs: int) -> dict:
    exe = str(Path(sys.executable).with_name("vexplore"))
    out: dict = {"vexplore": [], "all files": [], "python -c pass": [], "import textual.app": []}
    heavy: set[str] = set()
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            mark = Path(tmp) / "painted"
            env = dict(os.environ, VEXPLORE_FIRST_PAINT=str(mark), TERM="xterm-256color")
            # An installed vexplore starts from cached bytecode; a machine that sets this compiles every
            # module from source on every start (tens of milliseconds more), which is not what users see.
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            started = in_terminal([exe, str(root)], env)
            if not mark.exists():
                raise SystemExit("the app never reported its first paint")
            record = json.loads(mark.read_text())
            out["vexplore"].append(record["times"]["first paint"] - started)
            out["all files"].append(record["times"]["all files"] - started)
            heavy |= set(record["heavy"])
        for label, code in (("python -c pass", "pass"), ("import textual.app", "import textual.app")):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            out[label].append(time.perf_counter() - t0)
    return {
        "seconds": {k: statistics.median(v) for k, v in out.items()},
        "best": {k: min(v) for k, v in out.items()},
        "heavy_imports": sorted(heavy),
    }


async def neighbor_latency(root: Path, moves: int) -> dict:
    from vexplore.tui.app import VexploreApp

    app = VexploreApp(root, root / ".vexplore")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        while not (screen.query("#files") and screen.files.total and screen.timings):
            await pilot.pause(0.01)
        first = screen.timings[0]
        for _ in range(moves):
            count = len(screen.timings)
            await pilot.press("down")
            while len(screen.timings) == count:
                await pilot.pause(0.001)
        laps = screen.timings[1:]
    laps.sort()
    return {
        "first_ms": first,
        "median_ms": statistics.median(laps),
        "p95_ms": laps[int(len(laps) * 0.95) - 1],
        "moves": len(laps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--moves", type=int, default=60)
    args = parser.parse_args()
    root = Path(tempfile.gettempdir()) / f"vexplore-bench-startup-{args.files}"
    print(f"store: {root}")
    build_store(root, args.files)
    paint = first_paint(root, args.runs)
    s, best = paint["seconds"], paint["best"]
    print(f"first paint with {args.files} files (median of {args.runs}, best in brackets):")
    first = f"{s['vexplore']:.3f} s ({best['vexplore']:.3f})"
    print(f"  vexplore FOLDER, first files on screen   {first}   goal ≤ 0.5 s")
    print(f"  vexplore FOLDER, all {args.files} listed     {s['all files']:.3f} s ({best['all files']:.3f})")
    bare = f"{s['python -c pass']:.3f} s ({best['python -c pass']:.3f})"
    print(f"  python -c pass                           {bare}")
    print(
        f"  python -c 'import textual.app'           {s['import textual.app']:.3f} s "
        f"({best['import textual.app']:.3f})"
    )
    print(f"  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  ML imports on the way: {', '.join(paint['heavy_imports']) or 'none'}")
    lat = asyncio.run(neighbor_latency(root, args.moves))
    print(
        f"neighbors after a cursor move ({lat['moves']} moves): median {lat['median_ms']:.1f} ms, "
        f"p95 {lat['p95_ms']:.1f} ms (goal ≤ 50 ms); the first, loading the index: {lat['first_ms']:.0f} ms"
    )


if __name__ == "__main__":
    main()
