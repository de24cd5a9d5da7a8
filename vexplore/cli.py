"""The `vexplore` command: every UI action as a headless command with JSON output. Kept thin: each
command parses options, calls one engine function and prints."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import NoReturn

import click

from vexplore.engine.errors import UserError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
_finished = {"quick_exit": False}  # set by a command whose results are committed and closed when it returns


class _Group(click.Group):
    """`vexplore [PATH]` opens the explorer; any other first word is a subcommand."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help", "--version")):
            args = ["open", *args]
        return super().parse_args(ctx, args)


def _json_line(obj, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
    stream.flush()


def _fail(message: str) -> NoReturn:
    from vexplore.engine.printable import printable

    click.echo(f"vexplore: error: {printable(message)}", err=True)
    sys.exit(2)


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except UserError as exc:
        _fail(str(exc))
    except sqlite3.DatabaseError as exc:  # the catalog names its own file (StoreError); any other: one line
        _fail(f"SQLite: {exc}")
    except KeyboardInterrupt:
        click.echo("vexplore: interrupted", err=True)
        sys.exit(130)


def _detach_output() -> None:
    """Point stdout and stderr at /dev/null. After a hang-up every write to the old terminal fails (EIO),
    and a failed write must not end a run that is committing its last batch; the store is the result."""
    null = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(null, fd)
    os.close(null)


store_option = click.option(
    "--store",
    type=click.Path(file_okay=False),
    default=None,
    help="Store folder (default: PATH/.vexplore, or the user cache when PATH is read-only).",
)
model_option = click.option(
    "--model",
    "model",
    default=None,
    help="Which indexed model answers (default: the one for the query's modality).",
)
milvus_option = click.option(
    "--milvus",
    "milvus_uri",
    default=None,
    metavar="URI",
    help="Milvus URI: http://host:19530 (token from MILVUS_TOKEN) or a local file (Milvus Lite).",
)
collection_option = click.option(
    "--collection", default=None, help="Milvus collection (default: vexplore_<folder>_<model>)."
)


def backend_options(fn):
    """--backend/--milvus/--collection: answer neighbor queries from Milvus instead of the local index."""
    fn = collection_option(milvus_option(fn))
    return click.option(
        "--backend",
        type=click.Choice(["local", "milvus"]),
        default=None,
        help="Where neighbor queries go: the local hnswlib index (default) or Milvus.",
    )(fn)


def _backend(backend: str | None, uri: str | None, collection: str | None):
    if (backend or ("milvus" if uri else "local")) == "local":
        if uri or collection:
            _fail("--milvus and --collection go with --backend milvus")
        return None
    if not uri:
        _fail("--backend milvus needs --milvus URI")
    from vexplore.engine.milvus import MilvusBackend

    return MilvusBackend(uri, collection)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(package_name="vexplore")
def main() -> None:
    """Look inside embeddings: index a folder, browse nearest neighbors, search, inspect, compare.

    `vexplore PATH` opens the explorer; the commands below do the same work headless."""


@main.command("open")
@click.argument("path", default=".", type=click.Path())
@store_option
@backend_options
def open_cmd(path: str, store: str | None, backend, milvus_uri, collection) -> None:
    """Open the explorer over PATH (the default when no command is given)."""
    from vexplore.tui.app import run_app

    chosen = _backend(backend, milvus_uri, collection)
    _run(run_app, Path(path), store, **({"backend": chosen} if chosen else {}))


@main.command()
@click.argument("path", type=click.Path())
@click.option(
    "--model", "models", multiple=True, help="Model alias, HF id, local path or hub: spec (repeatable)."
)
@store_option
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or mps.")
@click.option("--batch-size", type=click.IntRange(1, 65536), default=None, help="Parts per model call.")
@click.option(
    "--workers", type=click.IntRange(0, 64), default=None, help="Decoder processes (default: cores-1)."
)
@click.option("--trust-remote-code", is_flag=True, help="Allow model repos to run their own Python code.")
@click.option(
    "--json", "as_json", is_flag=True, help="Progress as JSON lines on stderr, summary as JSON on stdout."
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where decoding and embedding run: this machine, or Ray Data (pip install 'vexplore[ray]').",
)
@click.option(
    "--ray-address",
    default=None,
    help="Ray cluster to join with --engine ray (default: RAY_ADDRESS, else a Ray started on this machine).",
)
def index(
    path, models, store, device, batch_size, workers, trust_remote_code, as_json, engine, ray_address
) -> None:
    """Embed new and changed files of PATH and bring the index up to date."""
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.progress import JsonReporter, RichReporter
    from vexplore.engine.store import find_store_dir

    root = Path(path)
    if not root.is_dir():
        _fail(f"{path}: not a folder" if root.exists() else f"{path}: no such folder")
    if ray_address and engine != "ray":
        _fail("--ray-address needs --engine ray")
    stop = threading.Event()

    def on_signal(signum, frame):
        if signum == getattr(signal, "SIGHUP", None):
            _detach_output()  # the terminal is gone (a dropped SSH session): finish the batch in silence
        elif stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_signal)
    opts = Options(
        list(models), device, batch_size, workers, trust_remote_code, engine=engine, ray_address=ray_address
    )
    reporter: JsonReporter | RichReporter = JsonReporter() if as_json else RichReporter()
    with reporter:
        summary = _run(
            index_folder, root, find_store_dir(root, store, create=True), opts, reporter.emit, stop
        )
    reporter.summary(summary)
    _finished["quick_exit"] = engine == "local"


@main.command()
@click.argument("path", type=click.Path())
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 10000), default=10, show_default=True)
@model_option
@store_option
@click.option("--device", default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@backend_options
def search(path, query, k, model, store, device, as_json, backend, milvus_uri, collection) -> None:
    """Files nearest to a free-text QUERY (text files; images too with a CLIP model)."""
    from vexplore.engine.query import open_explorer

    explorer = _run(open_explorer, Path(path), store, _backend(backend, milvus_uri, collection))
    used, hits = _run(explorer.search, query, k, model, device)
    _notices(explorer)
    if as_json:
        _json_line({"query": query, "model": used.name, "results": [h.as_json() for h in hits]})
    else:
        from vexplore.engine.render import hits_table

        hits_table(f"{query!r} — {used.name}", hits)


@main.command()
@click.argument("path", type=click.Path())
@click.argument("file", required=False)
@click.option(
    "--all", "all_files", is_flag=True, help="Neighbors of every indexed file (JSON Lines with --json)."
)
@click.option("-k", "k", type=click.IntRange(1, 10000), default=10, show_default=True)
@model_option
@store_option
@click.option("--json", "as_json", is_flag=True)
@backend_options
def neighbors(path, file, all_files, k, model, store, as_json, backend, milvus_uri, collection) -> None:
    """Nearest neighbors of FILE (a path relative to PATH, or inside it), or of every file with --all."""
    from vexplore.engine.query import open_explorer

    if bool(file) == all_files:
        _fail("give either FILE or --all")
    root = Path(path)
    explorer = _run(open_explorer, root, store, _backend(backend, milvus_uri, collection))
    if all_files:
        from vexplore.engine.render import hits_table

        everything = _run(lambda: list(explorer.all_neighbors(k, model)))
        _notices(explorer)
        for fpath, used, hits in everything:
            if as_json:
                _json_line({"path": fpath, "model": used, "neighbors": [h.as_json() for h in hits]})
            else:
                hits_table(f"{fpath} — {used}", hits)
        return
    rel = _relative(root, file)
    used, hits = _run(explorer.neighbors, rel, k, model)
    _notices(explorer)
    if as_json:
        _json_line({"path": rel, "model": used.name, "neighbors": [h.as_json() for h in hits]})
    else:
        from vexplore.engine.render import hits_table

        hits_table(f"{rel} — {used.name}", hits)


def _notices(explorer) -> None:
    """What the reader had to mend on the way (an index rebuilt from the vectors), once, on stderr."""
    from vexplore.engine.printable import printable

    for message in explorer.notices:
        click.echo(f"vexplore: note: {printable(message)}", err=True)
    explorer.notices.clear()


def _relative(root: Path, file: str) -> str:
    """FILE as the catalog spells it: relative to root with '/' separators, whether given relative or not."""
    candidate = Path(file)
    for base in (Path.cwd(), root):
        full = (base / candidate) if not candidate.is_absolute() else candidate
        try:
            return full.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return candidate.as_posix()


@main.command()
@click.option("--json", "as_json", is_flag=True)
def models(as_json) -> None:
    """Models vexplore knows by name, and whether their weights are here (offline)."""
    from vexplore.engine.models import registry

    rows = []
    for spec in registry.aliases():
        loc = registry.locate(spec)
        rows.append(
            {
                "name": spec.name,
                "modalities": list(spec.modalities),
                "dim": spec.dim,
                "backend": spec.backend,
                "available": loc.available,
                "source": loc.describe(),
                "text_queries": spec.text_queries,
                "description": spec.description,
            }
        )
    if as_json:
        _json_line(rows)
    else:
        from vexplore.engine.render import models_table

        models_table(rows)


@main.command()
@click.argument("path", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["npy", "parquet"]), default=None)
@model_option
@store_option
@click.option("--out", default=None, type=click.Path(dir_okay=False))
@milvus_option
@collection_option
@click.option("--json", "as_json", is_flag=True, help="The Milvus export summary as JSON on stdout.")
def export(path, fmt, model, store, out, milvus_uri, collection, as_json) -> None:
    """Write one model's vectors with their paths (--format npy|parquet --out FILE), or upsert them into
    a Milvus collection (--milvus URI): a re-export sends only changed and deleted files."""
    from vexplore.engine.query import open_explorer

    if milvus_uri:
        from vexplore.engine.printable import printable

        if fmt or out:
            _fail("give either --milvus or --format/--out")
        from vexplore.engine.milvus import export_milvus

        explorer = _run(open_explorer, Path(path), store)
        used = [_run(explorer.model, model)] if model else explorer.models()
        if not used:
            _fail("the store holds no vectors yet: run `vexplore index` first")
        if collection and len(used) > 1:
            _fail(f"{len(used)} models are indexed and one --collection holds one: add --model")
        for row in used:  # each model to its own collection
            s = _run(export_milvus, explorer.store, row, milvus_uri, collection)
            if as_json:
                _json_line(s)
            click.echo(
                printable(
                    f"{s['model']} → {s['collection']}: {s['upserted']} upserted, "
                    f"{s['deleted']} deleted, {s['unchanged']} unchanged"
                ),
                err=True,
            )
        return
    if not (fmt and out) or collection or as_json:
        _fail("give --format and --out (or --milvus URI)")
    from vexplore.engine.export import export_vectors

    explorer = _run(open_explorer, Path(path), store)
    n, used = _run(export_vectors, explorer, fmt, model, Path(out))
    click.echo(f"wrote {n} vectors of {used} to {out}", err=True)


@main.command()
@click.argument("path", type=click.Path())
@model_option
@store_option
@click.option(
    "-k",
    "k",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="Neighbors per file for the k-NN figures.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.95,
    show_default=True,
    help="Cosine at or above which two files count as near-duplicates.",
)
@click.option(
    "--clusters", type=click.IntRange(1, 256), default=None, help="k-means clusters (default: 2-8 by size)."
)
@click.option(
    "--projection",
    type=click.Choice(["pca", "umap"]),
    default="pca",
    show_default=True,
    help="umap needs umap-learn installed.",
)
@click.option(
    "--knn-sample",
    type=click.IntRange(0),
    default=5000,
    show_default=True,
    help="Files queried for the k-NN figures on big stores (0: every file).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout (keys in the README).")
def stats(path, model, store, k, threshold, clusters, projection, knn_sample, as_json) -> None:
    """Statistics of one model's vectors: norms, dimensions, anisotropy, PCA, intrinsic dimension,
    hubness, duplicates, outliers, clusters, a 2-D projection and the index's recall."""
    from vexplore.engine.query import open_explorer
    from vexplore.engine.stats import StatsOptions, vector_stats

    explorer = _run(open_explorer, Path(path), store)
    opts = StatsOptions(
        k=k,
        duplicate_threshold=threshold,
        clusters=clusters,
        projection=projection,
        knn_sample=knn_sample or None,
    )
    report = _run(vector_stats, explorer, model, opts)
    if as_json:
        _json_line(report.to_json())
    else:
        from vexplore.engine.stats.render import print_stats

        print_stats(report)


@main.command()
@click.argument("path", type=click.Path())
@click.option("--models", "models", required=True, help="Two indexed models, comma-separated: A,B.")
@store_option
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def compare(path, models, store, k, as_json) -> None:
    """Compare two models indexed on the same files: neighbor overlap, the files they disagree on most,
    and (for a folder of labelled sub-folders) which model keeps each label together."""
    from vexplore.engine.compare import compare_models
    from vexplore.engine.query import open_explorer

    names = [m.strip() for m in models.split(",") if m.strip()]
    if len(names) != 2:
        _fail("--models takes exactly two model names separated by a comma, e.g. --models minilm,mpnet")
    explorer = _run(open_explorer, Path(path), store)
    report = _run(compare_models, explorer, names[0], names[1], k)
    if as_json:
        _json_line(report.to_json())
    else:
        from vexplore.engine.stats.render import print_compare

        print_compare(report)


def run() -> None:
    """The console script. Once `index` has committed and closed everything, the process exits without the
    interpreter's teardown, which takes 1-2 s when torch is loaded and has nothing left to do."""
    try:
        main(prog_name="vexplore")
    except SystemExit as done:
        if _finished["quick_exit"] and "torch" in sys.modules and isinstance(done.code, int | None):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.code or 0)
        raise
