"""`vexplore audit`: what is wrong with a dataset (mislabelled files, leaks between splits, duplicates,
outliers) and what is in it (named clusters), as rich tables or one JSON object; `--fail-on` makes it a
CI guard."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.text import Text

from vexplore.engine.audit.report import KINDS

from .exits import fail, guarded, json_line
from .options import SourceArgs, model_option, source_options, store_option
from .where import resolve


@click.command()
@click.argument("path", type=click.Path())
@model_option
@store_option
@click.option(
    "-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Neighbors per file."
)
@click.option(
    "--splits",
    default=None,
    metavar="A,B",
    help="Top-level folders that are splits (default: train, test, val…).",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True),
    default=None,
    help="Cosine at or above which two files are near copies (default: from the data, ≥ 0.95).",
)
@click.option(
    "--clusters",
    type=click.IntRange(1, 256),
    default=None,
    help="How many named clusters (default: chosen from the data).",
)
@click.option(
    "--fail-on",
    "fail_on",
    type=click.Choice(KINDS),
    multiple=True,
    help="Exit 1 when any problem of this kind is found (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout (keys in the README).")
@source_options
def audit(path, model, store, k, splits, threshold, clusters, fail_on, as_json, source: SourceArgs) -> None:
    """Audit one model's files: likely mislabelled files, leaks between splits, duplicates and outliers
    over every file, and clusters with names."""
    from vexplore.engine.audit.run import AuditOptions
    from vexplore.engine.audit.run import audit as run_audit
    from vexplore.engine.query import open_explorer

    names = None
    if splits is not None:
        names = tuple(s.strip() for s in splits.split(",") if s.strip())
        if not names:
            fail("--splits takes folder names separated by commas, e.g. --splits train,test")
    target = resolve(path, store, source)
    explorer = guarded(open_explorer, target.root, target.store)
    opts = AuditOptions(k=k, splits=names, clusters=clusters, duplicate_threshold=threshold)
    with progress_line() as say:
        report = guarded(run_audit, explorer, model, opts, say)
    if as_json:
        json_line(report.to_json())
    else:
        from vexplore.engine.audit.render import print_audit

        print_audit(report)
    found = [kind for kind in fail_on if report.found(kind)]
    if found:
        click.echo(f"vexplore: audit found {', '.join(found)}", err=True)
        raise SystemExit(1)


@contextmanager
def progress_line() -> Iterator[Callable[[str], None]]:
    """The audit's current step on a terminal's stderr (a spinner that leaves nothing behind); silent
    when stderr is a file or a pipe, so logs and JSON consumers see only the report."""
    if not sys.stderr.isatty():
        yield lambda message: None
        return
    from rich.console import Console

    with Console(stderr=True).status("auditing…") as status:
        yield lambda message: status.update(Text(f"auditing: {message}…"))
