"""The neighbours pane: the k nearest files of the current one (or a search's results), each with a
similarity bar and its score. Enter or a click jumps to the file."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from vexplore.engine.query import Hit

from ..literal import literal

BAR_WIDTH = 10
_EIGHTHS = " ▏▎▍▌▋▊▉█"


def similarity_bar(score: float, width: int = BAR_WIDTH) -> Text:
    """A bar for a cosine similarity: empty at 0 (or below), full at 1, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, score)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return Text.assemble((bar, "cyan"), ("·" * (width - len(bar)), "bright_black"))


def hit_prompt(rank: int, hit: Hit) -> Text:
    text = Text.assemble((f"{rank:>2} ", "bright_black"), similarity_bar(hit.score), f" {hit.score:6.3f}  ",
                         literal(hit.path))
    if hit.labels:
        tags = ", ".join(f"{name} {p:.0%}" for name, p in hit.labels[:2])
        text.append_text(literal(f"  {tags}", style="italic bright_black"))
    return text


class NeighbourList(OptionList):
    """The hits; the option id is the index into the hits."""

    class Jump(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path


class NeighboursPane(Vertical):
    """A status line (what is shown, or why nothing is) above the list of hits."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hits: list[Hit] = []
        self.mode = "neighbours"  # or "search"

    def compose(self) -> ComposeResult:
        yield Static(id="neighbours-status")
        yield NeighbourList(id="neighbour-list")

    @property
    def list(self) -> NeighbourList:
        return self.query_one(NeighbourList)

    def show_hits(self, hits: list[Hit], status: Text, mode: str = "neighbours") -> None:
        self.mode = mode
        self.hits = hits
        lst = self.list
        lst.loading = False
        highlighted = lst.highlighted
        lst.set_options(Option(hit_prompt(n, h), id=str(n - 1)) for n, h in enumerate(hits, 1))
        if hits:
            lst.highlighted = min(highlighted or 0, len(hits) - 1) if lst.has_focus else 0
        self.query_one("#neighbours-status", Static).update(status)

    def show_message(self, message: Text | str, mode: str = "neighbours", busy: bool = False) -> None:
        self.mode = mode
        self.hits = []
        self.list.clear_options()
        self.list.loading = busy
        self.query_one("#neighbours-status", Static).update(message)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if index < len(self.hits):
            self.post_message(NeighbourList.Jump(self.hits[index].path))
