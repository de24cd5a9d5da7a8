"""Re-indexing a big folder after one file changed: `vexplore index` as a fresh process, timed without the
model load, against indexing the same folder from scratch, in the same run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_incremental.py [--files 10000] [--rounds 3]
        [--dir /tmp/vexplore-bench-incremental]

The folder (short text files in folders of 1,000) and its store are made once and kept in --dir. The model
is the tests' tiny random sentence-transformers model, saved there, so building the store is quick; the
model load (torch import + weights) is what the engine reports as each model's `load_seconds` and is
subtracted. Each round appends to one file (new size and mtime) and runs `vexplore index`; the plan event
says how many files were hashed and the summary how many were embedded: both must be 1. Also timed: a
run with nothing changed, and the whole folder indexed into an empty store (--store in a temp dir), the
alternative when a tool cannot update incrementally. Goal (issue 8): ≤ 2 s without model load at 10k.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from timed_index import Run, small_files, tiny_model, vexplore_index


def phases(run: Run) -> str:
    """Where the time went, from the events' arrival times."""
    scan, plan, model, done = (run.at(k) for k in ("scan", "plan", "model", "done"))
    parts = [f"start→scan {scan:.2f}", f"scan→plan {plan - scan:.2f}"]
    if model is not None:
        parts.append(f"model loaded→done {done - model:.2f}")
    return ", ".join(parts) + f", model load {run.load:.2f} (s)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-incremental"))
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.dir.mkdir(parents=True, exist_ok=True)
    model = str(tiny_model(args.dir))
    folder = small_files(args.dir / f"files-{args.files}", args.files)
    first = vexplore_index(folder, model)  # makes the store the first time; afterwards a no-op
    print(
        f"{args.files:,} files; store {'built' if first.embedded else 'already built'} "
        f"in {first.wall:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )

    changed, noop = [], []
    victims = sorted(folder.glob("*/*.txt"))[:: max(1, args.files // max(args.rounds, 1))][: args.rounds]
    for i, victim in enumerate(victims):
        with open(victim, "a") as fh:
            fh.write(f" edited in round {i}\n")
        run = vexplore_index(folder, model)
        if run.embedded != 1 or run.plan.get("hashed") != 1 or run.summary["unchanged"] != args.files - 1:
            raise SystemExit(f"expected 1 file hashed and embedded, got {run.plan} / {run.summary}")
        changed.append(run)
        print(
            f"  one changed: {run.wall - run.load:.2f} s without model load "
            f"({run.wall:.2f} s and {run.cpu:.2f} s CPU "
            f"in all; "
            f"{phases(run)}); hashed {run.plan['hashed']}, embedded {run.embedded}",
            flush=True,
        )
        noop.append(vexplore_index(folder, model))
    with tempfile.TemporaryDirectory(prefix="vexplore-bench-fresh-") as fresh:
        scratch = vexplore_index(folder, model, "--store", fresh)
    print(f"  nothing changed: {statistics.median(r.wall for r in noop):.2f} s (model not loaded)")
    print(
        f"  from scratch: {scratch.wall - scratch.load:.2f} s without model load ({phases(scratch)}), "
        f"{scratch.embedded:,} embedded"
    )
    one = statistics.median(r.wall - r.load for r in changed)
    result = {
        "benchmark": "incremental",
        "files": args.files,
        "one_changed_s": round(one, 2),
        "one_changed_with_load_s": round(statistics.median(r.wall for r in changed), 2),
        "hashed": changed[0].plan["hashed"],
        "embedded": changed[0].embedded,
        "nothing_changed_s": round(statistics.median(r.wall for r in noop), 2),
        "from_scratch_s": round(scratch.wall - scratch.load, 2),
        "speedup_vs_scratch": round((scratch.wall - scratch.load) / one, 1),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
