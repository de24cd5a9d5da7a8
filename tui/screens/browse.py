"""The browse screen: the file list, the current file's preview and its neighbors, free-text search, and
the indexing panel while the engine works. Everything slow happens off the UI thread (reader.py)."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input

from vexplore.engine.printable import printable

from .. import keys
from ..appref import explorer
from ..history import History
from ..indexer import RunState
from ..messages import FilesListed
from ..reader import Reader
from ..search import search_groups
from ..suggest import PathSuggester
from ..widgets.file_list import MODALITIES, SORTS, FileList, Only
from ..widgets.index_panel import IndexPanel
from ..widgets.neighbors import NeighborList, NeighborsPane
from ..widgets.preview import PreviewPane
from ..widgets.topbar import TopBar
from .reports import ReportActions

K_STEPS = (1, 3, 5, 10, 20, 50, 100)
POLL_SECONDS = 0.5


class BrowseScreen(ReportActions):
    """Browse a folder's store: select a file, see what is near it, jump, go back, search."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    AUTO_FOCUS = "#files"  # focused before the first frame (a focus() in on_mount costs a second one)
    BINDINGS: ClassVar[list[BindingType]] = keys.BROWSE
    STATIC_KEYS = keys.LIST_KEYS  # help lists these too: the lists' own keys

    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self.reader = reader
        self.history = History()
        self.current: str | None = None
        self.k = 10
        self._from_list = False
        self._version: int | None = None
        self.timings: list[float] = []  # ms from selecting a file to its neighbors on screen (benchmarks)
        self.neighbor_model: str | None = None  # the model that answered the last neighbors
        self._started_up = False
        self._run_active = False  # the last index run state seen was active
        self._next_reload = 0.0
        self._asking: str | None = None  # the file whose neighbors are being read

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with Horizontal(id="main"):
            with Vertical(id="files-pane"):
                yield Input(placeholder="filter by name (f)", id="filter")
                yield FileList(id="files")
            with Vertical(id="right"):
                yield Input(
                    placeholder="/ search: words or ./file, + -, Enter",
                    id="search",
                    suggester=PathSuggester(self.reader.root),
                )
                with Horizontal(id="panes"):
                    yield PreviewPane(id="preview")
                    yield NeighborsPane(id="neighbors")
        yield IndexPanel(id="index-panel")
        yield Footer()

    # ---- parts -------------------------------------------------------------------------------
    @property
    def files(self) -> FileList:
        return self.query_one(FileList)

    @property
    def neighbors(self) -> NeighborsPane:
        return self.query_one(NeighborsPane)

    @property
    def preview(self) -> PreviewPane:
        return self.query_one(PreviewPane)

    @property
    def panel(self) -> IndexPanel:
        return self.query_one(IndexPanel)

    def on_mount(self) -> None:
        self.query_one("#files-pane").border_title = "Files"
        self.neighbors.border_title = "Neighbors"
        self.preview.border_title = "Preview"
        app = explorer(self)
        self.watch(app, "model_name", self._ask_again, init=False)
        self.watch(app, "run_state", self._run_changed)
        self.first_load()  # not awaited: the screen lays itself out while the list is read

    @work(group="reload")
    async def first_load(self) -> None:
        """Paint the top of the list first; only then read the rest, the marks and the first neighbors."""
        head = await self.reader.head()
        if head is not None:
            self.files.set_entries(head[1], total=head[0])
            self._update_titles()
            await self._painted()
            self.post_message(FilesListed(complete=False))
        self.reader.warm_up()  # the query process loads the indexes while the rest of the list is read
        self._started_up = True
        await self.reload()  # also asks for the current file's neighbors and preview
        await self._painted()
        self.post_message(FilesListed(complete=True))
        self.set_interval(POLL_SECONDS, self._poll)

    async def _painted(self) -> None:
        """Wait until what was just changed is on the screen."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def shown() -> None:
            if not done.done():
                done.set_result(None)

        self.call_after_refresh(shown)
        await done

    # ---- data --------------------------------------------------------------------------------
    async def reload(self) -> None:
        """Read the file list again (first paint, and whenever the indexer committed); the ●/○/✗ marks
        follow in a second step, so a big list is on screen before they are counted."""
        self._version, entries = await self.reader.snapshot()
        if entries is None:
            self.neighbors.show_message(Text("nothing indexed yet", style="bright_black"))
            self._update_titles()
            return
        had_current = self.current
        self.files.set_entries(entries)
        self._update_titles()
        if had_current is None and self.files.current is None:
            self.neighbors.show_message(Text("no files here yet", style="bright_black"))
        elif had_current is not None:
            self._refresh_current(again=True)
        self.load_states()

    @work(group="states", exclusive=True)
    async def load_states(self) -> None:
        states = await self.reader.states()
        if states is not None:
            self.files.set_states(states)

    async def _poll(self) -> None:
        """Follow the indexer's commits; reading a big list again costs, so at most a fifth of the time."""
        if time.monotonic() < self._next_reload:
            return
        version = await self.reader.version()
        if version is not None and version != self._version:
            started = time.monotonic()
            await self.reload()
            self._next_reload = time.monotonic() + 4 * (time.monotonic() - started)

    def _update_titles(self) -> None:
        files = self.files
        label = "all" if files.modality is None else files.modality
        loading = "" if files.complete else " (reading…)"
        only = "" if files.only is None else f" · only {printable(files.only.name)} (F: all)"
        self._titles(
            self.query_one("#files-pane"),
            f"Files {files.shown}/{files.total}{loading}",
            f"m {label} · s {files.sort}{only}",
        )
        source = explorer(self).source
        self.query_one(TopBar).show(
            source.rstrip("/").rsplit("/", 1)[-1] if source else self.reader.root.resolve().name,
            files.total,
            explorer(self).model_name or "auto",
            self.k,
            self.history.can_back,
            self.history.can_forward,
        )

    # ---- showing a file ----------------------------------------------------------------------
    def on_file_list_highlighted(self, event: FileList.Highlighted) -> None:
        current = self.files.current
        if current is None or current.path != event.entry.path:
            return  # overtaken: typing in the filter moved the cursor again before this arrived
        self.show_file(event.entry.path, replace=self._from_list)
        self._from_list = True

    def on_file_list_chosen(self, event: FileList.Chosen) -> None:
        self.action_focus_neighbors()

    def on_neighbor_list_jump(self, event: NeighborList.Jump) -> None:
        self.jump(event.path)

    def jump(self, path: str) -> None:
        """Make path the current file, as a new step in the history."""
        self._from_list = False
        self.show_file(path)
        self.query_one(NeighborList).focus()

    def show_file(self, path: str, replace: bool = False, record: bool = True) -> None:
        if record:
            self.history.visit(path, replace=replace)
        if (self.files.current is None or self.files.current.path != path) and not self.files.select_path(
            path
        ):
            self.files.set_filter("", None)  # a jump to a file the filters hide: show everything
            self.query_one("#filter", Input).value = ""
            if not self.files.select_path(path):
                self.files.set_only(None)
                self.files.select_path(path)
        if path == self.current and self.neighbors.mode == "neighbors":
            self._update_titles()
            return
        self.current = path
        self._update_titles()
        self._refresh_current()

    def _refresh_current(self, again: bool = False) -> None:
        """Ask for the current file's neighbors (and then its preview). again: the store changed under
        the same file; if its answer is still on the way, let it land rather than start over (commits
        every half second must not starve the pane)."""
        if self.current is None or not self._started_up:
            return  # before the first paint: first_load asks once it is on screen
        if again and self._asking == self.current:
            return
        self._started = time.perf_counter()
        self.preview.show_loading(self.current)
        self.load_neighbors(self.current)  # the preview follows once the neighbors are on screen

    @work(group="neighbors", exclusive=True)
    async def load_neighbors(self, path: str) -> None:
        started = self._started
        self._asking = path
        try:
            found = await self.reader.neighbors(path, self.k, explorer(self).model_name)
        finally:
            if self._asking == path:
                self._asking = None
        if found is None or path != self.current:
            return  # overtaken by a newer selection (which shows its own preview)
        for notice in found.notices:  # e.g. a damaged index file, rebuilt from the stored vectors
            self.notify(printable(notice), title="index", severity="warning", markup=False)
        self.neighbor_model = found.model
        run = explorer(self).run_state
        pending = (
            run is not None
            and run.active
            and found.file_id is not None
            and self.files.state_of(found.file_id) == 0
        )
        self.neighbors.show_neighbors(path, found.hits, found.message, pending)
        self._titles(
            self.neighbors, "Neighbors", f"{found.model} · k={self.k}" if found.model else f"k={self.k}"
        )
        self.call_after_refresh(self._neighbors_shown, path, started)

    def _neighbors_shown(self, path: str, started: float) -> None:
        self.timings.append((time.perf_counter() - started) * 1000)
        if path == self.current:
            self.preview.load(self.reader, path)

    @staticmethod
    def _titles(widget, title: str, subtitle: str) -> None:
        """Border texts, set only when they change (each set redraws the border)."""
        if widget.border_title != title:
            widget.border_title = title
        if widget.border_subtitle != subtitle:
            widget.border_subtitle = subtitle

    # ---- search ------------------------------------------------------------------------------
    @on(Input.Submitted, "#search")
    def on_search(self, event: Input.Submitted) -> None:
        query = event.value.strip()
        if query:
            self.run_search(query)

    @work(group="search", exclusive=True)
    async def run_search(self, query: str) -> None:
        pane = self.neighbors
        answer = await search_groups(self.reader, pane, query, self.k, explorer(self).model_name)
        if answer is None:
            return
        header, groups = answer
        pane.show_results(header, groups)
        used = " + ".join(title.split(" · ")[0] for title, _ in groups)  # the models (or keyword index)
        self._titles(pane, "Search results", f"{used} · k={self.k}")
        self.query_one(NeighborList).focus()

    # ---- filter ------------------------------------------------------------------------------
    @on(Input.Changed, "#filter")
    def on_filter(self, event: Input.Changed) -> None:
        self.files.set_filter(event.value)
        self._update_titles()

    @on(Input.Submitted, "#filter")
    def on_filter_done(self, event: Input.Submitted) -> None:
        self.files.focus()

    # ---- indexing (the panel follows the run itself) ---------------------------------------------
    def _run_changed(self, state: RunState | None) -> None:
        if state is not None and self._run_active and not state.active:
            self.run_finished()
        self._run_active = state is not None and state.active

    def show_run(self, state: RunState) -> None:
        self.panel.show_run(state)

    def run_finished(self) -> None:
        """Everything the indexer wrote, now: the list, the marks, and neighbors from the final index."""
        self._next_reload = 0.0
        self._version = None  # the next poll reads the list again
        self._refresh_current()

    # ---- actions -----------------------------------------------------------------------------
    def action_search(self) -> None:
        self.set_focus(self.query_one("#search", Input))  # now, not later: what is typed next goes there

    def action_search_file(self) -> None:
        """Search by a file: the search bar, its path prompt started (→ completes names on disk)."""
        self._search_with("./")

    def action_like_this(self) -> None:
        """More like this: the current file as the query, to add words to or subtract from."""
        if self.current:
            self._search_with(f"./{self.current} ")

    def _search_with(self, text: str) -> None:
        box = self.query_one("#search", Input)
        box.value = text
        box.cursor_position = len(text)
        self.set_focus(box)

    def action_filter(self) -> None:
        self.set_focus(self.query_one("#filter", Input))

    def action_all_files(self) -> None:
        self.narrow(None)

    def narrow(self, only: Only | None) -> None:
        """Show only a set of files (an audit's cluster or problems), or all of them again."""
        self.files.set_only(only)
        self._update_titles()

    def action_focus_neighbors(self) -> None:
        self.query_one(NeighborList).focus()

    def action_escape(self) -> None:
        if self.neighbors.mode == "search":
            self.neighbors.mode = "neighbors"
            self._refresh_current()
        self.files.focus()

    def action_back(self) -> None:
        self._revisit(self.history.back())

    def action_forward(self) -> None:
        self._revisit(self.history.forward())

    def _revisit(self, path: str | None) -> None:
        if path is not None:
            self._from_list = False
            self.show_file(path, record=False)

    def _set_k(self, k: int) -> None:
        if k != self.k:
            self.k = k
            self._ask_again()

    def action_more(self) -> None:
        self._set_k(next((s for s in K_STEPS if s > self.k), K_STEPS[-1]))

    def action_fewer(self) -> None:
        self._set_k(next((s for s in reversed(K_STEPS) if s < self.k), K_STEPS[0]))

    def action_cycle_modality(self) -> None:
        at = MODALITIES.index(self.files.modality)
        self.files.set_filter(modality=MODALITIES[(at + 1) % len(MODALITIES)])
        self._update_titles()

    def action_cycle_sort(self) -> None:
        self.files.set_sort(SORTS[(SORTS.index(self.files.sort) + 1) % len(SORTS)])
        self._update_titles()

    def _ask_again(self) -> None:
        """k or the model changed: the search shown (if any) or the current file's neighbors again."""
        self._update_titles()
        query = self.query_one("#search", Input).value.strip()
        if self.neighbors.mode == "search" and query:
            self.run_search(query)
        else:
            self._refresh_current()
