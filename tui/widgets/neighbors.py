"""The neighbors pane: the k nearest files of the current one (or a search's results), each with a
similarity bar and its score. Enter or a click jumps to the file."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from vexplore.engine.keywords import MARK_CLOSE, MARK_OPEN
from vexplore.engine.query import Hit

from ..literal import literal

BAR_WIDTH = 10
PENDING = (
    "not embedded yet: the indexer is on it (progress below); neighbors show up as soon as its batch lands"
)
_EIGHTHS = " ▏▎▍▌▋▊▉█"


def similarity_bar(score: float, width: int = BAR_WIDTH) -> Text:
    """A bar for a cosine similarity: empty at 0 (or below), full at 1, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, score)) * width * 8)
    full, part = divmod(eighths, 8)
    bar = "█" * full + (_EIGHTHS[part] if part else "")
    return Text.assemble((bar, "cyan"), ("·" * (width - len(bar)), "bright_black"))


def hit_prompt(rank: int, hit: Hit) -> Text:
    text = Text.assemble(
        (f"{rank:>2} ", "bright_black"), similarity_bar(hit.score), f" {hit.score:6.3f}  ", literal(hit.path)
    )
    if hit.labels:
        tags = ", ".join(f"{name} {p:.0%}" for name, p in hit.labels[:2])
        text.append_text(literal(f"  {tags}", style="italic bright_black"))
    if hit.why:
        text.append_text(literal(f"  {hit.why}", style="bright_black"))
    if hit.snippet:
        text.append("\n    ")
        text.append_text(snippet_text(hit.snippet))
    text.no_wrap, text.overflow = True, "ellipsis"  # one line per hit (and its passage), whatever the width
    return text


def snippet_text(snippet: str) -> Text:
    """The passage a keyword matched, literal, its matching words highlighted."""
    out = Text(style="italic")
    for i, piece in enumerate(snippet.replace(MARK_CLOSE, MARK_OPEN).split(MARK_OPEN)):
        out.append_text(literal(piece, style="bold yellow" if i % 2 else ""))
    return out


class NeighborList(OptionList):
    """The hits; the option id is the index into the hits."""

    class Jump(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path


class NeighborsPane(Vertical):
    """One status line (what is shown), a message (why nothing is), and the list of hits. Moving from file
    to file only swaps texts in place, so the screen never has to be laid out again."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.hits: list[Hit] = []
        self.mode = "neighbors"  # or "search"

    def compose(self) -> ComposeResult:
        yield Static(id="neighbors-status")
        yield Static(id="neighbors-message")
        yield NeighborList(id="neighbor-list")

    @property
    def hit_list(self) -> NeighborList:
        return self.query_one(NeighborList)

    @property
    def status(self) -> str:
        """The status line or the message, as plain text."""
        message = self.query_one("#neighbors-message", Static)
        shown = message if message.display else self.query_one("#neighbors-status", Static)
        return str(shown.content)

    def show_hits(self, hits: list[Hit], status: Text, mode: str = "neighbors") -> None:
        self.mode = mode
        self.hits = hits
        lst = self.hit_list
        lst.loading = False
        prompts = [hit_prompt(n, h) for n, h in enumerate(hits, 1)]
        if prompts and len(prompts) == lst.option_count:
            for index, prompt in enumerate(prompts):  # same length: new texts, no new layout
                lst.replace_option_prompt_at_index(index, prompt)
            lst.highlighted = 0 if not lst.has_focus else min(lst.highlighted or 0, len(prompts) - 1)
            lst.refresh()
        else:
            lst.set_options(Option(prompt, id=str(n)) for n, prompt in enumerate(prompts))
            if prompts:
                lst.highlighted = 0
        lst.display = True
        self.query_one("#neighbors-message", Static).display = False
        self.query_one("#neighbors-status", Static).update(status, layout=False)

    def show_neighbors(self, path: str, hits: list[Hit], message: str | None, pending: bool) -> None:
        """One file's answer: its hits, or why there are none (pending: the indexer has yet to embed it)."""
        if message and pending:
            self.show_message(Text(PENDING, style="bright_black"))
        elif message:
            self.show_message(literal(message, style="yellow"))
        else:
            status = Text.assemble(("near ", "bright_black"), literal(path))
            status.no_wrap, status.overflow = True, "ellipsis"
            self.show_hits(hits, status)

    def show_results(self, query: str, groups: list[tuple[str, list[Hit]]]) -> None:
        """A search's hits, under a heading per model when several models answered."""
        status = Text.assemble(
            ("search ", "bright_black"),
            literal(f"“{query}”", "bold"),
            ("  esc: back to neighbors", "bright_black"),
        )
        status.no_wrap, status.overflow = True, "ellipsis"
        if len(groups) == 1:
            self.show_hits(groups[0][1], status, mode="search")
        else:
            self.show_groups(groups, status)

    def show_groups(self, groups: list[tuple[str, list[Hit]]], status: Text) -> None:
        """Results of several models (scores of different models do not compare): a heading per model."""
        self.mode = "search"
        self.hits = [hit for _, hits in groups for hit in hits]
        options: list[Option] = []
        at = 0
        for title, hits in groups:
            options.append(Option(literal(f"── {title} ", style="bold"), disabled=True))
            if not hits:
                options.append(Option(Text("   nothing", style="bright_black"), disabled=True))
            options += [Option(hit_prompt(n, h), id=str(at + n - 1)) for n, h in enumerate(hits, 1)]
            at += len(hits)
        lst = self.hit_list
        lst.loading = False
        lst.set_options(options)
        lst.highlighted = next((i for i, o in enumerate(options) if not o.disabled), None)
        lst.display = True
        self.query_one("#neighbors-message", Static).display = False
        self.query_one("#neighbors-status", Static).update(status, layout=False)

    def show_message(self, message: Text | str, mode: str = "neighbors", busy: bool = False) -> None:
        self.mode = mode
        self.hits = []
        self.hit_list.clear_options()
        self.hit_list.loading = busy
        self.hit_list.display = busy
        self.query_one("#neighbors-status", Static).update("", layout=False)
        box = self.query_one("#neighbors-message", Static)
        box.update(message)
        box.display = True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if index < len(self.hits):
            self.post_message(NeighborList.Jump(self.hits[index].path))
