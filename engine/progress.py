"""Showing indexing progress: rich bars for people, JSON lines on stderr for programs (and the TUI)."""

from __future__ import annotations

import json
import sys
import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .events import (
    Compacted,
    CompactionSkipped,
    Event,
    IndexSummary,
    LoadEvent,
    ModelEvent,
    NoticeEvent,
    ProgressEvent,
    StallEvent,
    to_line,
)
from .printable import printable


class JsonReporter:
    """Events as JSON lines on stderr, the summary as one JSON line on stdout (for programs, the TUI)."""

    def __enter__(self) -> JsonReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    _lock = threading.Lock()  # the heartbeat's thread emits too: one whole line at a time

    def emit(self, event: Event) -> None:
        with self._lock:
            sys.stderr.write(to_line(event) + "\n")
            sys.stderr.flush()

    def summary(self, s: IndexSummary) -> None:
        sys.stdout.write(json.dumps(s.to_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()


class RichReporter:
    """A bar per model on stderr while it runs, the summary for people on stdout."""

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
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def emit(self, event: Event) -> None:
        if isinstance(event, ModelEvent):
            label = f"{event.model} ({event.device})"
            self.tasks[event.model] = self.progress.add_task("", total=event.todo, label=label, rate="-")
        elif isinstance(event, ProgressEvent) and event.model in self.tasks:
            self.progress.update(self.tasks[event.model], completed=event.done, rate=f"{event.rate:.1f}")
        elif isinstance(event, LoadEvent):
            self.console.print(
                Text(f"loading {event.model} from {event.source} on {event.device}", style="dim")
            )
        elif isinstance(event, NoticeEvent):
            self.console.print(Text(printable(event.message), style="yellow"))
        elif isinstance(event, StallEvent):
            self.console.print(
                Text(
                    f"{printable(event.model)}: no progress for {event.seconds:.0f}s "
                    f"on {printable(event.path)}",
                    style="yellow",
                )
            )
        elif isinstance(event, Compacted):
            self.console.print(
                Text(
                    f"compacted the vectors of {printable(event.model)}: "
                    f"{event.rows_before:,} → {event.rows_after:,} rows "
                    f"in {event.seconds:.1f}s",
                    style="dim",
                )
            )
        elif isinstance(event, CompactionSkipped):
            self.console.print(
                Text(
                    f"kept {event.unreferenced:,} unreferenced vector rows of "
                    f"{printable(event.model)}: {event.skipped} "
                    "(a later run compacts them)",
                    style="dim",
                )
            )

    def summary(self, s: IndexSummary) -> None:
        out = Console(highlight=False)
        line = s.line()
        if s.interrupted:
            line += " (interrupted: committed batches are kept; run again to finish)"
        out.print(Text(line))
        for err in s.errors[:20]:
            out.print(Text(f"  failed: {printable(err.path)}: {printable(err.reason)}", style="red"))
        if len(s.errors) > 20:
            out.print(
                Text(f"  … and {len(s.errors) - 20} more (vexplore index --json lists all)", style="red")
            )
        if s.no_model_for:
            out.print(
                Text(f"  no model for: {', '.join(s.no_model_for)} (see `vexplore models`)", style="yellow")
            )
