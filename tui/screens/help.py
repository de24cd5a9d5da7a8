"""The help screen (`?`): the keys of the screen below it, read from its live bindings and the app's (so
help never disagrees with them), grouped by what the user is doing, and how the screen works."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from ..keys import GROUPS, OTHER, HasStaticKeys, bound_actions, palette_key

ABOUT = (
    "Each file is embedded by a model for its kind; neighbors are the files whose vectors are nearest "
    "(cosine similarity: 1 is identical, 0 unrelated). ● embedded  ○ not yet  ✗ failed. "
    "T text · I image · A audio · V video."
)


def key_rows(app: App, screen: Screen) -> dict[str, list[tuple[str, Text]]]:
    """Per group, (keys, what they do): the screen's static keys, every bound action, the palette's key."""
    rows: dict[str, list[tuple[str, Text]]] = {group: [] for group in (*GROUPS, OTHER)}
    for key in screen.STATIC_KEYS if isinstance(screen, HasStaticKeys) else ():
        rows[key.group].append((key.keys, Text(key.description)))
    for action in bound_actions(app, screen):
        what = Text(action.description, style="bold")
        if action.tooltip:
            what.append(f"  {action.tooltip}", style="not bold")
        rows[action.group].append((action.keys, what))
    palette = palette_key(app)
    rows[palette.group].append((palette.keys, Text(palette.description)))
    return rows


def keys_table(app: App, screen: Screen) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for group, rows in key_rows(app, screen).items():
        if not rows:
            continue
        table.add_row(Text(group, style="bold underline"), "")
        for keys, what in rows:
            table.add_row(Text(keys, style="cyan"), what)
        table.add_row("", "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, below: Screen) -> None:
        super().__init__()
        self.below = below  # the screen whose keys are shown

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text(ABOUT), id="help-about")
            yield Static(keys_table(self.app, self.below))

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "vexplore — keys"
        self.query_one("#help").border_subtitle = "esc to close"
