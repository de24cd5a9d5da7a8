"""The `vexplore` command: every UI action as a headless command with JSON output. It sits above the
engine and the explorer, which import nothing of it. Kept thin: each command parses options, calls one
engine function and prints; the commands live in modules named for what they do."""

from __future__ import annotations

import os
import sys

import click

from .audit_command import audit
from .exits import finished, guarded
from .import_command import import_cmd
from .index_command import index
from .inspect_commands import compare, export, models, stats
from .options import SourceArgs, backend_options, chosen_backend, gpus_option, source_options, store_option
from .query_commands import neighbors, search
from .where import resolve

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Group(click.Group):
    """`vexplore [PATH]` opens the explorer; any other first word is a subcommand."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help", "--version")):
            args = ["open", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(package_name="vexplore")
def main() -> None:
    """Look inside embeddings: index a folder, browse nearest neighbors, search, inspect, compare.

    `vexplore PATH` opens the explorer; the commands below do the same work headless."""


@main.command("open")
@click.argument("path", default=".", type=click.Path())
@store_option
@backend_options
@source_options
@click.option("--device", default=None, help="Where the indexing child embeds: auto, cpu, cuda, cuda:N, mps.")
@gpus_option
def open_cmd(
    path: str, store: str | None, backend, milvus_uri, collection, source: SourceArgs, device, gpus
) -> None:
    """Open the explorer over PATH, a folder or a vectors source (the default when no command is given)."""
    from vexplore.tui.app import run_app

    chosen = chosen_backend(backend, milvus_uri, collection)
    target = resolve(path, store, source, quiet=False)
    extra = {"backend": chosen} if chosen else {}
    if target.source is not None:
        extra["source"] = path  # as typed: the top bar names it
    index_args = (*(("--device", device) if device else ()), *(("--gpus", gpus) if gpus else ()))
    store_arg = None if target.store is None else str(target.store)
    guarded(run_app, target.root, store_arg, **extra, index_args=index_args)


for command in (index, import_cmd, search, neighbors, models, export, stats, compare, audit):
    main.add_command(command)


def run() -> None:
    """The console script. Once `index` has committed and closed everything, the process exits without the
    interpreter's teardown, which takes 1-2 s when torch is loaded and has nothing left to do."""
    try:
        main(prog_name="vexplore")
    except SystemExit as done:
        if finished["quick_exit"] and "torch" in sys.modules and isinstance(done.code, int | None):
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(done.code or 0)
        raise
