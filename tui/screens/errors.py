"""The errors view: every file that could not be embedded (or was skipped by the scan), by whom and why."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..literal import literal


class ErrorsScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,e", "app.pop_screen", "Back")]

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield Static(id="errors-title")
        yield DataTable(id="errors-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        count = len(self.rows)
        self.query_one("#errors-title", Static).update(
            literal(
                f" {count} file{'s' if count != 1 else ''} failed"
                if count
                else " no failures: every file a model handles was embedded",
                style="bold",
            )
        )
        table = self.query_one(DataTable)
        table.add_columns("file", "model", "reason")
        for path, model, reason in self.rows:
            table.add_row(literal(path), literal(model), literal(reason, style="red"))
        table.focus()
