"""Options that several commands share: the store, the model, and where neighbor queries go."""

from __future__ import annotations

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
