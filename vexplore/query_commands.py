"""`vexplore search` and `vexplore neighbors`: the nearest files to a free-text query or to a file."""

from __future__ import annotations

from pathlib import Path

import click

from .exits import fail, guarded, json_line, notices
from .options import SourceArgs, backend_options, chosen_backend, model_option, source_options, store_option
from .where import resolve


@click.command()
@click.argument("path", type=click.Path())
@click.argument("query")
@click.option("-k", "k", type=click.IntRange(1, 10000), default=10, show_default=True)
@model_option
@store_option
@click.option("--device", default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@backend_options
@source_options
def search(
    path, query, k, model, store, device, as_json, backend, milvus_uri, collection, source: SourceArgs
) -> None:
    """Files nearest to a free-text QUERY (text files; images too with a CLIP model). On a vectors
    source, --model names the model that made the vectors (default: the one the source names)."""
    from vexplore.engine.query import open_explorer

    target = resolve(path, store, source)
    explorer = guarded(
        open_explorer, target.root, target.store, chosen_backend(backend, milvus_uri, collection)
    )
    if target.source is not None:
        from vexplore.engine.sources.search import search_source

        used, hits = guarded(search_source, explorer, query, k, model, device)
    else:
        used, hits = guarded(explorer.search, query, k, model, device)
    notices(explorer)
    if as_json:
        json_line({"query": query, "model": used.name, "results": [h.as_json() for h in hits]})
    else:
        from vexplore.engine.render import hits_table

        hits_table(f"{query!r} — {used.name}", hits)


@click.command()
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
@source_options
def neighbors(
    path, file, all_files, k, model, store, as_json, backend, milvus_uri, collection, source: SourceArgs
) -> None:
    """Nearest neighbors of FILE (a path relative to PATH, or inside it; a row's id in a vectors source),
    or of every file with --all."""
    from vexplore.engine.query import open_explorer

    if bool(file) == all_files:
        fail("give either FILE or --all")
    target = resolve(path, store, source)
    root = target.root
    explorer = guarded(open_explorer, root, target.store, chosen_backend(backend, milvus_uri, collection))
    if all_files:
        from vexplore.engine.render import hits_table

        everything = guarded(lambda: list(explorer.all_neighbors(k, model)))
        notices(explorer)
        for fpath, used, hits in everything:
            if as_json:
                json_line({"path": fpath, "model": used, "neighbors": [h.as_json() for h in hits]})
            else:
                hits_table(f"{fpath} — {used}", hits)
        return
    rel = file if target.source is not None else relative_path(root, file)
    row, hits = guarded(explorer.neighbors, rel, k, model)
    notices(explorer)
    if as_json:
        json_line({"path": rel, "model": row.name, "neighbors": [h.as_json() for h in hits]})
    else:
        from vexplore.engine.render import hits_table

        hits_table(f"{rel} — {row.name}", hits)


def relative_path(root: Path, file: str) -> str:
    """FILE as the catalog spells it: relative to root with '/' separators, whether given relative or not."""
    candidate = Path(file)
    for base in (Path.cwd(), root):
        full = (base / candidate) if not candidate.is_absolute() else candidate
        try:
            return full.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return candidate.as_posix()
