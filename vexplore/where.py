"""PATH and the source flags → (root, store) for every command: a folder passes through as it is; a
vectors source is imported (or found current, instantly) and its store named, so every command then
opens the store exactly as it would a folder's."""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .exits import fail
from .options import SourceArgs


@dataclass(frozen=True)
class Target:
    root: Path  # what catalog paths (and --path-column files) are relative to
    store: str | Path | None  # the store folder; None: the folder's default
    source: str | None = None  # the source's location, when PATH was one
    model: str | None = None  # the model the source's vectors came from, when known


def source_store_dir(location: str, table: str | None) -> Path:
    """SOURCE.vexplore beside the source (SOURCE.TABLE.vexplore for one of several tables), else a
    folder in the user cache keyed by the location."""
    tail = "" if table is None else "." + "".join(c if c.isalnum() or c in "-_" else "_" for c in table)
    if "://" not in location and Path(location).exists():
        path = Path(location).resolve()
        beside = path.with_name(f"{path.name}{tail}.vexplore")
        if os.access(path.parent, os.W_OK):
            return beside
    from platformdirs import user_cache_dir

    key = hashlib.sha1(f"{location}#{table or ''}".encode()).hexdigest()[:16]
    name = Path(location.rstrip("/")).name or "source"
    return Path(user_cache_dir("vexplore")) / "sources" / f"{name}{tail}-{key}"


def is_vectors_source(path: str, args: SourceArgs) -> bool:
    from vexplore.engine.sources.detect import is_source

    return args.source_kind is not None or is_source(path)


def resolve(
    path: str,
    store: str | None,
    args: SourceArgs,
    model: str | None = None,
    as_json: bool = False,
    quiet: bool = True,
) -> Target:
    """Where a command's store is. A source is brought up to date first: a progress bar on a terminal
    (JSON events on stderr with as_json), then one line on stderr saying what changed."""
    if not is_vectors_source(path, args):
        given = [f"--{k.replace('_', '-')}" for k, v in vars(args).items() if v is not None]
        if given and Path(path).is_dir():
            fail(f"{path} is a folder of files, not a vectors source: {', '.join(given)} apply to sources")
        return Target(Path(path), store)
    from vexplore.engine.sources.base import Columns
    from vexplore.engine.sources.detect import open_source
    from vexplore.engine.sources.importer import ImportOptions, import_source

    from .exits import guarded

    columns = Columns(
        args.vector_column, args.id_column, args.label_column, args.text_column, args.path_column
    )
    reader = guarded(open_source, path, columns, args.table, args.source_kind, args.meta)
    try:
        info = guarded(reader.describe)
        store_dir = Path(store).expanduser().resolve() if store else source_store_dir(path, args.table)
        root = Path(args.root) if args.root else _default_root(path)
        choices = tuple(sorted((k, v) for k, v in vars(args).items() if k not in ("root",)))
        opts = ImportOptions(model=model, columns=choices)
        reporter = _reporter(as_json, quiet)
        with reporter:
            summary = guarded(import_source, reader, root, store_dir, opts, reporter.emit)
        reporter.summary(summary)
    finally:
        reader.close()
    return Target(root, store_dir, path, info.model)


def _default_root(location: str) -> Path:
    path = Path(location)
    if "://" in location or not path.exists():  # a URI, or a name such as hf:owner/name
        return Path.cwd()
    return path.parent if path.is_file() else path


def _reporter(as_json: bool, quiet: bool):
    from vexplore.engine.progress import JsonReporter, RichReporter

    if as_json:
        return JsonReporter()
    if not quiet and sys.stderr.isatty():
        return RichReporter()
    return QuietReporter(loud=not quiet)


class QuietReporter:
    """For an import on the way to another command: a bar only on a terminal, one line on stderr, and
    nothing on stdout (that is the command's). loud: `vexplore import` without a terminal, whose
    summary goes to stdout as the bar's reporter would print it."""

    def __init__(self, loud: bool = False) -> None:
        from vexplore.engine.progress import RichReporter

        self.loud = loud
        self.bar = RichReporter() if sys.stderr.isatty() else None

    def __enter__(self) -> QuietReporter:
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def emit(self, event) -> None:
        if self.bar is not None:
            self.bar.emit(event)

    def summary(self, s) -> None:
        import click

        from vexplore.engine.printable import printable

        if self.loud:
            click.echo(printable(s.line()))
            for err in s.errors[:20]:
                click.echo(printable(f"  failed: {err.path}: {err.reason}"))
            return
        if s.embedded or s.removed or s.failed:
            click.echo(printable(f"vexplore: imported {s.line()} into {s.store}"), err=True)
