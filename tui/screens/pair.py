"""Two files side by side: a leak and the file of another split it copies, or two members of a duplicate
group. Each pane is the browse screen's preview (text head, picture, loudness, facts, how each model saw
it); Enter opens the left file with its neighbors, `o` the right one."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..reader import Reader
from ..widgets.preview import PreviewPane


class PairScreen(Screen[str | None]):
    """Dismissed with the path to open in the browse screen, or None (Escape: back to the report)."""

    DEFAULT_CSS = """
    PairScreen #pair-caption { height: auto; max-height: 3; padding: 0 1; background: $boost; }
    PairScreen #pair { height: 1fr; }
    PairScreen PreviewPane { width: 1fr; height: 1fr; border: round $primary-darken-2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("enter", "open('left')", "Open left"),
        Binding("o", "open('right')", "Open right"),
    ]

    def __init__(self, reader: Reader, left: str, right: str, caption: Text) -> None:
        super().__init__()
        self.reader, self.left, self.right, self.caption = reader, left, right, caption

    def compose(self) -> ComposeResult:
        yield Static(self.caption, id="pair-caption")
        with Horizontal(id="pair"):
            yield PreviewPane(id="pair-left")
            yield PreviewPane(id="pair-right")
        yield Footer()

    def on_mount(self) -> None:
        for pane_id, path in (("#pair-left", self.left), ("#pair-right", self.right)):
            self.query_one(pane_id, PreviewPane).show_loading(path)
        self.query_one("#pair-left", PreviewPane).focus()
        self.fill_both()

    @work(group="pair", exclusive=True)
    async def fill_both(self) -> None:
        await self.query_one("#pair-left", PreviewPane).fill(self.reader, self.left)
        await self.query_one("#pair-right", PreviewPane).fill(self.reader, self.right)

    def action_open(self, side: str) -> None:
        self.dismiss(self.left if side == "left" else self.right)

    def action_close(self) -> None:
        self.dismiss(None)
