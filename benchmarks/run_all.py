"""`make bench`: every benchmarks/bench_*.py, each in its own process, with sizes small enough that the CPU
set finishes in about ten minutes on a 2-core machine; then a table of what ran, how long it took and its
result line. A script with no entry in QUICK runs with its own defaults (and says so); none is skipped
unless --only leaves it out, and then the table says that too.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/run_all.py [--full] [--only NAME ...] [--timeout S]

--full runs every script with its own defaults: the sizes the README's figures come from.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCALE_CACHE = Path("/tmp/vexplore-bench-scale/store-1000000x384/build.json")


def scale_args() -> tuple[list[str], str]:
    """The 1M store takes many minutes to build on two cores: use it when an earlier full run left it."""
    if SCALE_CACHE.exists():
        return [], f"1M store cached in {SCALE_CACHE.parent}"
    return ["--n", "100000"], (
        "no cached 1M store: running at 100k; `python benchmarks/bench_scale.py` builds the "
        "1M one once (tens of minutes on two cores) and later runs reuse it"
    )


# Small sizes per script for `make bench`: (arguments, note) or a function returning them.
QUICK = {
    "bench_audit": (
        ["--sizes", "10000", "30000", "--audit-n", "100000"],
        "graph at 10k and 30k, the whole audit at 100k; stores cached in /tmp after the first run",
    ),
    "bench_text": (["--docs", "1000", "--repeat", "1"], "1,000 documents, one run per side"),
    "bench_stats": ([], "100k store, cached in /tmp after the first run"),
    "bench_scale": scale_args,
    "bench_scan": ([], "100k files, cached in /tmp after the first run"),
    "bench_incremental": (["--rounds", "2"], "10k files, cached in /tmp after the first run"),
    "bench_startup": (["--runs", "3"], "100k store, cached in /tmp after the first run"),
    "bench_images": (["--images", "200", "--rounds", "1"], "200 images, one round"),
    "bench_audio": (["--clips", "16", "--rounds", "1"], "16 clips, one round"),
    "bench_video": (["--videos", "3", "--seconds", "20"], "3 videos of 20 s"),
    "bench_search": ([], "5,000 text files, cached in /tmp after the first run"),
    "bench_import": (["--rows", "200000"], "a 200k × 384 parquet (the 1M figure: --full)"),
    "bench_leaks": (["--files", "100000"], "100k files (the 1M figure: --full)"),
    "bench_source_readers": (["--n", "20000", "--milvus-n", "5000"], "20k rows, Milvus 5k"),
    "bench_ef": ([], "the 100k store bench_audit leaves in /tmp"),
}


def result_line(output: str) -> dict | None:
    """The script's last JSON object line, if it printed one."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def run_script(cmd: list[str], timeout: float) -> tuple[str, str]:
    """Run one benchmark, echoing its output as it comes (progress bars left out); (output, status). On
    timeout its whole process group (the benchmark and the processes it started) is killed."""
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=HERE.parent,
        start_new_session=True,
    )
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(timeout, kill)
    timer.start()
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "it/s]" not in line:
            print(line, end="", flush=True)
    code = proc.wait()
    timer.cancel()
    if expired.is_set():
        return "".join(lines), f"TIMED OUT after {timeout:.0f} s"
    return "".join(lines), "ok" if code == 0 else f"FAILED (exit {code})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="each script's own defaults (the README's sizes)")
    ap.add_argument("--only", nargs="*", default=None, help="names to run, e.g. bench_scan scale")
    ap.add_argument("--timeout", type=float, default=600, help="seconds one script may take")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scripts = sorted(HERE.glob("bench_*.py"))
    print(
        f"{len(scripts)} benchmarks: {', '.join(s.stem for s in scripts)}; {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f}",
        flush=True,
    )
    table = []
    started_all = time.perf_counter()
    for script in scripts:
        name = script.stem
        if args.only is not None and not any(o in name for o in args.only):
            table.append((name, "skipped (not in --only)", 0.0, None))
            continue
        quick = QUICK.get(name)
        if args.full:
            extra, note = [], "its own defaults (--full)"
        elif quick is None:
            extra, note = [], "no quick sizes known: its own defaults"
        else:
            extra, note = quick() if callable(quick) else quick
        print(f"\n=== {name} {' '.join(extra)} — {note}", flush=True)
        started = time.perf_counter()
        output, status = run_script([sys.executable, str(script), *extra], args.timeout)
        table.append((name, status, time.perf_counter() - started, result_line(output)))

    print(f"\n=== summary ({time.perf_counter() - started_all:.0f} s in all)")
    for name, status, seconds, result in table:
        print(f"{name:<20} {status:<24} {seconds:6.0f} s  {json.dumps(result) if result else ''}")
    if any(status.startswith(("FAILED", "TIMED")) for _, status, _, _ in table):
        sys.exit(1)


if __name__ == "__main__":
    main()
