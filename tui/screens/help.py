"""The help screen (`?`): every key, grouped by what the user is doing, and how the screen works."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Browse",
        [
            ("↑ ↓ / j k, PgUp PgDn", "move through the files; the preview and neighbors follow"),
            ("Enter", "on a file: go to its neighbors · on a neighbor or result: jump to it"),
            ("[ / ]  (alt+← / alt+→)", "back / forward through the files you jumped to"),
            ("+ / -", "more / fewer neighbors (k)"),
            ("Tab", "next pane"),
            ("Esc", "back to the file list (and from search results to neighbors)"),
        ],
    ),
    (
        "Find",
        [
            ("/", "search by meaning: free text → nearest text files (and images with a CLIP model)"),
            ("f", "filter the file list by name"),
            ("m", "show only one kind: text, image, audio, video"),
            ("s", "sort by name, kind, size or most recent"),
        ],
    ),
    (
        "Index",
        [
            ("i", "index new and changed files now (keeps browsing while it runs)"),
            ("x", "cancel indexing (twice: stop at once); finished batches are kept"),
            ("e", "files that failed, and why"),
            ("M", "switch model when several are indexed"),
        ],
    ),
    (
        "Screens",
        [
            ("t", "statistics of the vector space"),
            ("c", "compare two models"),
            ("Ctrl+P", "command palette: every action by name"),
            ("?", "this help"),
            ("q", "quit"),
        ],
    ),
]

ABOUT = (
    "Each file is embedded by a model for its kind; neighbors are the files whose vectors are nearest "
    "(cosine similarity: 1 is identical, 0 unrelated). ● embedded  ○ not yet  ✗ failed. "
    "T text · I image · A audio · V video."
)


def keys_table() -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for group, rows in KEYS:
        table.add_row(Text(group, style="bold underline"), "")
        for key, what in rows:
            table.add_row(Text(key, style="cyan"), Text(what))
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text(ABOUT), id="help-about")
            yield Static(keys_table())

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "vexplore — keys"
        self.query_one("#help").border_subtitle = "esc to close"
