"""Importing vectors people already have: a parquet of N × DIM float32 vectors (a fixed-size-list
column, an id column, row groups of 64k rows, as a pipeline writes them) brought into a vexplore
store by the real importer, in a fresh process, without the index build (timed apart with --index).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--dim 384]
        [--dir /tmp/vexplore-bench-import] [--index]

Measured, each in its own child process: the import (read, validate, hash, append, SQLite commits per
batch) and its peak resident memory (ru_maxrss); beside it, in the same run, the floor any tool pays:
pyarrow reading the same file batch by batch into numpy (no store). Figures go in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CHILD_IMPORT = r"""
import json, sys, time
from pathlib import Path
from vexplore.engine.sources.base import Columns
from vexplore.engine.sources.detect import open_source
from vexplore.engine.sources.importer import ImportOptions, import_source
src, store, index = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "1"
started = time.perf_counter()
reader = open_source(src, Columns())
summary = import_source(reader, Path(src).parent, store, ImportOptions(build_index=index))
print(json.dumps({"seconds": time.perf_counter() - started, "embedded": summary.embedded}))
"""

CHILD_READ = r"""
import json, sys, time
import numpy as np, pyarrow.parquet as pq
started = time.perf_counter()
rows = 0
for batch in pq.ParquetFile(sys.argv[1], pre_buffer=False).iter_batches(batch_size=65536):
    column = batch.column("vector")
    x = column.flatten().to_numpy().reshape(len(column), -1)
    rows += len(x)
print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))
"""


def write_parquet(path: Path, rows: int, dim: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    schema = pa.schema([("id", pa.string()), ("vector", pa.list_(pa.float32(), dim))])
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, 65536):
            n = min(65536, rows - start)
            x = rng.standard_normal((n, dim), dtype=np.float32)
            ids = pa.array([f"item-{i:08d}" for i in range(start, start + n)])
            vectors = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), dim)
            writer.write_table(pa.table({"id": ids, "vector": vectors}, schema=schema))
    os.replace(tmp, path)


def child(code: str, *args: str) -> tuple[dict, float]:
    """Run code in a fresh interpreter; (its JSON line, its peak RSS in MiB)."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"child failed ({status})")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/vexplore-bench-import"))
    ap.add_argument("--index", action="store_true", help="also time the hnswlib build (minutes at 1M)")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    src = args.dir / f"vectors-{args.rows}x{args.dim}.parquet"
    if not src.exists():
        t = time.perf_counter()
        write_parquet(src, args.rows, args.dim)
        print(f"wrote {src} ({src.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f}s")
    store = args.dir / f"store-{args.rows}x{args.dim}"
    shutil.rmtree(store, ignore_errors=True)
    read, read_rss = child(CHILD_READ, str(src))
    got, rss = child(CHILD_IMPORT, str(src), str(store), "1" if args.index else "0")
    vectors_mib = args.rows * args.dim * 4 / 2**20
    result = {
        "rows": args.rows,
        "dim": args.dim,
        "vectors_mib": round(vectors_mib),
        "import_s": round(got["seconds"], 1),
        "rows_per_s": round(args.rows / got["seconds"]),
        "import_peak_rss_mib": round(rss),
        "peak_rss_over_vectors": round(rss / vectors_mib, 2),
        "pyarrow_read_s": round(read["seconds"], 1),
        "pyarrow_read_peak_rss_mib": round(read_rss),
        "import_over_read": round(got["seconds"] / max(read["seconds"], 1e-9), 1),
        "index_built": args.index,
    }
    print(json.dumps(result))
    shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
