"""Options that several commands share: the store, the model, where neighbor queries go, and how a
vectors source is read."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import click

from .exits import fail

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
gpus_option = click.option(
    "--gpus",
    default=None,
    metavar="0,1,…|all",
    help="Embed with one worker process per GPU named (all: every visible GPU); decoding is shared.",
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


def chosen_backend(backend: str | None, uri: str | None, collection: str | None):
    if (backend or ("milvus" if uri else "local")) == "local":
        if uri or collection:
            fail("--milvus and --collection go with --backend milvus")
        return None
    if not uri:
        fail("--backend milvus needs --milvus URI")
    from vexplore.engine.milvus import MilvusBackend

    return MilvusBackend(uri, collection)


@dataclass(frozen=True)
class SourceArgs:
    """The flags that say how to read a vectors source (None: found by convention or from the path)."""

    vector_column: tuple[str, ...] | None = None  # one or several (each its own model); None: found
    id_column: str | None = None
    label_column: str | None = None
    text_column: str | None = None
    path_column: str | None = None
    root: str | None = None
    meta: str | None = None
    table: str | None = None
    source_kind: str | None = None


_SOURCE_FLAGS = (
    (
        "--vector-column",
        "Column (or npz array) holding the vectors; repeat it to import several columns, each as its own "
        "model (default: every list-of-numbers column).",
    ),
    ("--id-column", "Column of row ids (default: id, path, file, filename, else the row number)."),
    ("--label-column", "Column of labels for compare and audit (default: label)."),
    (
        "--text-column",
        "Column of text for previews and keywords (default: text, content, caption, sentence).",
    ),
    ("--path-column", "Column of file paths, relative to --root, so previews show the real files."),
    ("--root", "Folder that --path-column paths are relative to (default: the source's folder)."),
    ("--meta", "Metadata for a .npy/.npz: CSV, JSON lines or parquet, one row per vector."),
    ("--table", "The table, collection or split when the source holds several (llm, LanceDB, Milvus, HF)."),
    ("--source-kind", "Read PATH as this kind of source: parquet, numpy, llm, hf, lancedb or milvus."),
)


def source_options(fn):
    """The column flags of a vectors source, handed to the command as one `source: SourceArgs`."""

    @functools.wraps(fn)
    def command(*args, **kwargs):
        names = [flag[2:].replace("-", "_") for flag, _ in _SOURCE_FLAGS]
        values = {name: kwargs.pop(name) for name in names}
        values["vector_column"] = tuple(values["vector_column"]) or None
        kwargs["source"] = SourceArgs(**values)
        return fn(*args, **kwargs)

    for flag, text in reversed(_SOURCE_FLAGS):
        many = flag == "--vector-column"
        command = click.option(flag, default=None, multiple=many, help=text)(command)
    return command
