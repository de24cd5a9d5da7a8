"""Showing indexing progress: rich bars for people, JSON lines on stderr for programs (and the TUI)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .printable import printable


class JsonReporter:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def emit(self, event: dict) -> None:
        sys.stderr.write(json.dumps(event, ensure_ascii=False) + "\n")
        sys.stderr.flush()


class RichReporter:
    def __init__(self) -> None:
        self.console = Console(stderr=True, highlight=False)
        self.progress = Progress(
            TextColumn("{task.fields[label]}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} files/s", markup=False),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()
        return False

    def emit(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "model":
            label = f"{event['model']} ({event.get('device', '?')})"
            self.tasks[event["model"]] = self.progress.add_task(
                "", total=event["todo"], label=label, rate="-"
            )
        elif kind == "progress" and event["model"] in self.tasks:
            self.progress.update(
                self.tasks[event["model"]], completed=event["done"], rate=f"{event['rate']:.1f}"
            )
        elif kind == "load":
            self.console.print(
                Text(f"loading {event['model']} from {event['source']} on {event['device']}", style="dim")
            )
        elif kind == "notice":
            self.console.print(Text(printable(event["message"]), style="yellow"))
        elif kind == "compacted":
            self.console.print(
                Text(
                    f"compacted the vectors of {printable(event['model'])}: "
                    f"{event['rows_before']:,} → {event['rows_after']:,} rows "
                    f"in {event['seconds']:.1f}s",
                    style="dim",
                )
            )
        elif kind == "compaction_skipped":
            self.console.print(
                Text(
                    f"kept {event['unreferenced']:,} unreferenced vector rows of "
                    f"{printable(event['model'])}: {event['skipped']} "
                    "(a later run compacts them)",
                    style="dim",
                )
            )

    def summary(self, s: dict) -> None:
        out = Console(highlight=False)
        line = (
            f"{s['files']} files: {s['embedded']} embedded, {s['unchanged']} unchanged, "
            f"{s['removed']} removed, {s['failed']} failed in {s['seconds']:.1f}s"
        )
        if s.get("interrupted"):
            line += " (interrupted: committed batches are kept; run again to finish)"
        out.print(Text(line))
        for err in s["errors"][:20]:
            out.print(Text(f"  failed: {printable(err['path'])}: {printable(err['reason'])}", style="red"))
        if len(s["errors"]) > 20:
            out.print(
                Text(f"  … and {len(s['errors']) - 20} more (vexplore index --json lists all)", style="red")
            )
        if s.get("no_model_for"):
            out.print(
                Text(
                    f"  no model for: {', '.join(s['no_model_for'])} (see `vexplore models`)", style="yellow"
                )
            )
