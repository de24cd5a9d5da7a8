"""`vexplore models`, `export`, `stats` and `compare`: what models are known, what is stored, and how the
vector space looks."""

from __future__ import annotations

from pathlib import Path

import click

from .exits import fail, guarded, json_line
from .options import SourceArgs, collection_option, milvus_option, model_option, source_options, store_option
from .where import resolve


@click.command()
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
        json_line(rows)
    else:
        from vexplore.engine.render import models_table

        models_table(rows)


@click.command()
@click.argument("path", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["npy", "parquet"]), default=None)
@model_option
@store_option
@click.option("--out", default=None, type=click.Path(dir_okay=False))
@milvus_option
@collection_option
@click.option("--json", "as_json", is_flag=True, help="The Milvus export summary as JSON on stdout.")
@source_options
def export(path, fmt, model, store, out, milvus_uri, collection, as_json, source: SourceArgs) -> None:
    """Write one model's vectors with their paths (--format npy|parquet --out FILE), or upsert them into
    a Milvus collection (--milvus URI): a re-export sends only changed and deleted files."""
    from vexplore.engine.query import open_explorer

    if milvus_uri:
        from vexplore.engine.printable import printable

        if fmt or out:
            fail("give either --milvus or --format/--out")
        from vexplore.engine.milvus import export_milvus

        target = resolve(path, store, source)
        explorer = guarded(open_explorer, target.root, target.store)
        used = [guarded(explorer.model, model)] if model else explorer.models()
        if not used:
            fail("the store holds no vectors yet: run `vexplore index` first")
        if collection and len(used) > 1:
            fail(f"{len(used)} models are indexed and one --collection holds one: add --model")
        for row in used:  # each model to its own collection
            s = guarded(export_milvus, explorer.store, row, milvus_uri, collection)
            if as_json:
                json_line(s)
            click.echo(
                printable(
                    f"{s['model']} → {s['collection']}: {s['upserted']} upserted, "
                    f"{s['deleted']} deleted, {s['unchanged']} unchanged"
                ),
                err=True,
            )
        return
    if not (fmt and out) or collection or as_json:
        fail("give --format and --out (or --milvus URI)")
    from vexplore.engine.export import export_vectors

    target = resolve(path, store, source)
    explorer = guarded(open_explorer, target.root, target.store)
    n, name = guarded(export_vectors, explorer, fmt, model, Path(out))
    click.echo(f"wrote {n} vectors of {name} to {out}", err=True)


@click.command()
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
@source_options
def stats(
    path, model, store, k, threshold, clusters, projection, knn_sample, as_json, source: SourceArgs
) -> None:
    """Statistics of one model's vectors: norms, dimensions, anisotropy, PCA, intrinsic dimension,
    hubness, duplicates, outliers, clusters, a 2-D projection and the index's recall."""
    from vexplore.engine.query import open_explorer
    from vexplore.engine.stats import StatsOptions, vector_stats

    target = resolve(path, store, source)
    explorer = guarded(open_explorer, target.root, target.store)
    opts = StatsOptions(
        k=k,
        duplicate_threshold=threshold,
        clusters=clusters,
        projection=projection,
        knn_sample=knn_sample or None,
    )
    report = guarded(vector_stats, explorer, model, opts)
    if as_json:
        json_line(report.to_json())
    else:
        from vexplore.engine.stats.render import print_stats

        print_stats(report)


@click.command()
@click.argument("path", type=click.Path())
@click.option("--models", "models", required=True, help="Two indexed models, comma-separated: A,B.")
@store_option
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@source_options
def compare(path, models, store, k, as_json, source: SourceArgs) -> None:
    """Compare two models indexed on the same files: neighbor overlap, the files they disagree on most,
    and (for a folder of labelled sub-folders) which model keeps each label together."""
    from vexplore.engine.compare import compare_models
    from vexplore.engine.query import open_explorer

    names = [m.strip() for m in models.split(",") if m.strip()]
    if len(names) != 2:
        fail("--models takes exactly two model names separated by a comma, e.g. --models minilm,mpnet")
    target = resolve(path, store, source)
    explorer = guarded(open_explorer, target.root, target.store)
    report = guarded(compare_models, explorer, names[0], names[1], k)
    if as_json:
        json_line(report.to_json())
    else:
        from vexplore.engine.stats.render import print_compare

        print_compare(report)
