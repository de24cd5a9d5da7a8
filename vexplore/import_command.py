"""`vexplore import SOURCE`: bring a vectors source (parquet, numpy, llm's embeddings.db, …) into a store
explicitly, with a progress bar or JSON events; every other command does the same on the way."""

from __future__ import annotations

import click

from .exits import finished
from .options import SourceArgs, source_options, store_option
from .where import resolve


@click.command("import")
@click.argument("path", type=click.Path())
@store_option
@click.option(
    "--model", default=None, help="Name of the model that made the vectors (default: the source's)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Progress as JSON lines on stderr, summary as JSON on stdout."
)
@source_options
def import_cmd(path: str, store: str | None, model: str | None, as_json: bool, source: SourceArgs) -> None:
    """Import the vectors of PATH (a parquet, .npy/.npz, llm embeddings.db, Hugging Face dataset, LanceDB
    table or Milvus collection) into its store, or bring the store up to date by id."""
    from .exits import fail
    from .where import is_vectors_source

    if not is_vectors_source(path, source):
        fail(f"{path}: not a vectors source (to embed a folder of files, use `vexplore index`)")
    resolve(path, store, source, model=model, as_json=as_json, quiet=False)
    finished["quick_exit"] = True
