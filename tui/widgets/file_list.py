"""The file list: every file of the store, filtered and sorted, drawn line by line.

A DataTable would build a row object per file; with 100k files that alone costs seconds. This widget keeps
the store's FileTable (numpy columns and one buffer of names: about 55 MB at a million files) and an array of
the rows shown, and renders only the rows on screen (Textual's line API), so opening a large store,
filtering and sorting stay quick."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

import numpy as np
from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from vexplore.engine.table import KINDS, ORDERS, FileTable

from ..literal import human_size, literal
from ..reader import Entry

MODALITY_MARK = {
    "text": ("T", "cyan"),
    "image": ("I", "magenta"),
    "audio": ("A", "yellow"),
    "video": ("V", "green"),
}
STATE_MARK = {1: ("●", "green"), 0: ("○", "bright_black"), -1: ("✗", "red")}
SORTS = ORDERS
MODALITIES = (None, "text", "image", "audio", "video")


@dataclass(frozen=True)
class Only:
    """A set of files the list is narrowed to (the audit's cluster or kind of problem), with its name for
    the pane's title."""

    name: str
    paths: frozenset[str]


class Keep(Enum):
    """set_filter's "leave this as it is" (None already means every kind of file)."""

    KEEP = 0


def _left_cut(text: str, width: int) -> str:
    """The end of text in width cells: a deep path keeps its file name visible."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    cut = text
    while cell_len(cut) > width - 1:
        cut = cut[max(1, (cell_len(cut) - width) // 2) :]
    return "…" + cut


class FileList(ScrollView, can_focus=True):
    """Files with a status mark (● embedded, ○ not yet, ✗ failed), a modality mark and the size."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
        Binding("enter", "choose", "Neighbors", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"file-list--cursor", "file-list--dim"}
    DEFAULT_CSS = """
    FileList { background: $surface; }
    FileList > .file-list--cursor { background: $primary 30%; }
    FileList:focus > .file-list--cursor { background: $primary 60%; text-style: bold; }
    FileList > .file-list--dim { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        """The cursor rests on another file."""

        def __init__(self, entry: Entry) -> None:
            super().__init__()
            self.entry = entry

    class Chosen(Message):
        """Enter (or a double click) on a file: the user wants to look at its neighbors."""

        def __init__(self, entry: Entry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.table = FileTable()  # the store's files in path order
        self._shown = np.zeros(0, np.int64)  # rows of the table, filtered and sorted
        self._shown_for: tuple | None = None  # (sort, modality, only, needle) that _shown answers
        self._states: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int8))
        self._marks = np.zeros(0, np.int8)  # per table row: 1 embedded, -1 failed, 0 not yet
        self.needle = ""
        self.modality: str | None = None
        self.only: Only | None = None  # a path-set filter on top of the others
        self._only_rows: np.ndarray | None = None  # per table row: in self.only?
        self.sort = "name"
        self._quiet = False
        self._current_path: str | None = None  # survives a refresh that rebuilds the table
        self._total = 0  # files in the store, when only the top of the list is loaded yet
        self._lines: dict[tuple, Strip] = {}  # drawn rows, so a redraw of the screen redraws nothing here

    # ---- data --------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return max(len(self.table), self._total)

    @property
    def complete(self) -> bool:
        """False while only the top of the list is loaded."""
        return len(self.table) >= self._total

    @property
    def shown(self) -> int:
        return len(self._shown)

    @property
    def current(self) -> Entry | None:
        return Entry._make(self.table.row(int(self._shown[self.cursor]))) if len(self._shown) else None

    def visible_paths(self) -> list[str]:
        return self.table.paths(self._shown)

    def marks_by_path(self) -> dict[str, int]:
        """path -> 1 embedded / -1 failed / 0 not yet, for every file listed (tests, debugging)."""
        return dict(zip(self.table.paths(), self._marks.tolist(), strict=False))

    def state_of(self, file_id: int) -> int:
        row = int(self.table.positions(np.array([file_id]))[0])
        return int(self._marks[row]) if row >= 0 else 0

    def set_entries(self, table: FileTable, total: int = 0) -> None:
        """Replace the files (a refresh while indexing); the cursor stays on the same file if it is still
        there. total: how many files there are when table is only the top of the list."""
        self.table = table
        self._total = total
        self._marks = table.marks(*self._states)
        self._only_rows = None if self.only is None else table.holding(self.only.paths)
        self._shown_for = None
        self._apply()

    def set_states(self, states: tuple[np.ndarray, np.ndarray]) -> None:
        """(file ids, marks) as Store.file_states gives them."""
        self._states = states
        self._marks = self.table.marks(*states)
        self._lines.clear()
        self.refresh()

    def set_filter(self, needle: str | None = None, modality: str | None | Keep = Keep.KEEP) -> None:
        """needle: the name filter; modality: one kind of file, None for all (each kept if left out)."""
        if needle is not None:
            self.needle = needle
        if not isinstance(modality, Keep):
            self.modality = modality
        self._apply()

    def set_only(self, only: Only | None) -> None:
        """Show only only's files (None: every file again), the other filters kept."""
        self.only = only
        self._only_rows = None if only is None else self.table.holding(only.paths)
        self._apply()

    def set_sort(self, sort: str) -> None:
        self.sort = sort
        self._apply()

    def _apply(self) -> None:
        """Filter and sort again, keeping the cursor on its file; announce only a change of file."""
        table, before = self.table, self._shown_for
        key = (self.sort, self.modality, self.only, self.needle)
        if before is not None and before[:3] == key[:3] and key[3].lower().startswith(before[3].lower()):
            rows = self._shown  # typing on: every match of the longer text is among the last matches
        else:
            rows = table.order(self.sort)
            if self.modality is not None:
                rows = rows[table.kinds[rows] == KINDS.index(self.modality)]
            if self._only_rows is not None:
                rows = rows[self._only_rows[rows]]
        self._shown = table.matching(rows, self.needle.lower().split())
        self._shown_for = key
        self._lines.clear()
        self.virtual_size = Size(self.size.width, len(self._shown))
        at = self._row_of(self._current_path)
        self._move_to(at or 0, quiet=at is not None)
        self.refresh()

    def _row_of(self, path: str | None) -> int | None:
        """Where path is among the rows shown, if it is."""
        at = self.table.position(path) if path is not None else None
        if at is None:
            return None
        found = np.flatnonzero(self._shown == at)
        return int(found[0]) if len(found) else None

    def select_path(self, path: str) -> bool:
        """Put the cursor on path without announcing it (the screen already shows that file)."""
        row = self._row_of(path)
        if row is not None:
            self._move_to(row, quiet=True)
        return row is not None

    def _move_to(self, row: int, quiet: bool = False) -> None:
        self._quiet = quiet
        self.cursor = max(0, min(row, len(self._shown) - 1))
        self._quiet = False
        self._current_path = self.current.path if self.current else None

    def watch_cursor(self, old: int, new: int) -> None:
        top = self.scroll_offset.y
        self._scroll_to_cursor()
        if self.scroll_offset.y == top:  # redraw the two rows that changed, not the whole list
            self.refresh_line(old)
            self.refresh_line(new)
        else:
            self.refresh()
        if not self._quiet and self.current is not None:
            self.post_message(self.Highlighted(self.current))

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height or 1
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._shown))
        self._scroll_to_cursor()

    # ---- keys and mouse ----------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        self._move_to(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_edge(self, end: int) -> None:
        self._move_to(len(self._shown) - 1 if end else 0)

    def action_choose(self) -> None:
        if self.current is not None:
            self.post_message(self.Chosen(self.current))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = int(self.scroll_offset.y) + offset.y
        if 0 <= row < len(self._shown):
            if row != self.cursor:
                self._move_to(row)
            if event.chain >= 2:
                self.action_choose()

    # ---- drawing -----------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = int(self.scroll_offset.y) + y
        base = self.rich_style
        if row >= len(self._shown):
            return Strip.blank(width, base)
        key = (row, width, row == self.cursor, self.has_focus, self.app.theme)
        cached = self._lines.get(key)
        if cached is not None:
            return cached
        if len(self._lines) > 4000:
            self._lines.clear()
        at = int(self._shown[row])
        entry = Entry._make(self.table.row(at))
        self._lines[key] = strip = self._draw(row, entry, int(self._marks[at]), width, base)
        return strip

    def _draw(self, row: int, entry: Entry, mark: int, width: int, base) -> Strip:
        state, state_style = STATE_MARK[mark]
        kind, kind_style = MODALITY_MARK.get(entry.modality, ("?", ""))
        size = human_size(entry.size)
        name_width = max(1, width - 5 - len(size) - 2)  # a space between the name and the size
        text = Text.assemble(
            " ",
            (state, state_style),
            " ",
            (kind, kind_style),
            " ",
            literal(_left_cut(entry.path, name_width)),
        )
        text.pad_right(max(0, width - text.cell_len - len(size) - 1))
        text.append(size, style=self.get_component_rich_style("file-list--dim", partial=True))
        text.append(" ")
        segments = list(text.render(self.app.console))
        strip = Strip(segments).adjust_cell_length(width, base)
        if row == self.cursor:
            strip = strip.apply_style(self.get_component_rich_style("file-list--cursor"))
        return strip.apply_style(base)  # the widget's colours under everything drawn above
