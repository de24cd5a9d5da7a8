"""The explorer app: opens a folder's store at once (or the start screen when there is none), runs indexing
as a child process, and holds what every screen shares (the reader, the chosen model, the index run).

Nothing here imports torch or transformers: the first free-text search loads its model in a worker."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from vexplore.engine.errors import UserError
from vexplore.engine.store import Store, StoreError, find_store_dir

from . import graphics
from .indexer import IndexRun, RunState
from .reader import Reader
from .screens.browse import BrowseScreen

FIRST_PAINT_ENV = (
    "VEXPLORE_FIRST_PAINT"  # benchmarks: write the wall-clock time of the first paint here, exit
)


class VexploreApp(App):
    CSS_PATH = "vexplore.tcss"
    TITLE = "vexplore"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, root: Path, store_dir: Path, index_args: tuple[str, ...] = (), backend=None) -> None:
        super().__init__()
        self.index_args = index_args  # extra `vexplore index` options (--device, --batch-size, ...)
        self.backend = backend  # where neighbor queries go (None: the local hnswlib index; e.g. Milvus)
        self.root = root
        self.store_dir = store_dir
        # Made before Textual starts, so the file list is read while Textual sets up the terminal.
        self.reader: Reader | None = (
            Reader(root, store_dir, backend) if (store_dir / "catalog.sqlite").exists() else None
        )
        self.browse: BrowseScreen | None = None
        self.model_name: str | None = None  # None: each file's own model
        self.index_run: IndexRun | None = None
        self._first_paint_file = os.environ.get(FIRST_PAINT_ENV)
        self._paints: dict[str, float] = {}

    def get_default_screen(self) -> Screen:
        if self.reader is not None:
            self.browse = BrowseScreen(self.reader)
            return self.browse
        return Screen()  # a blank base: the start screen goes on top and is swapped for browsing

    def on_mount(self) -> None:
        if self.browse is None:
            from .screens.start import StartScreen

            self.push_screen(StartScreen(self.root))

    def on_unmount(self) -> None:
        """However the app ends (quit, Ctrl+C, a test's run_test block), its query process ends with it."""
        if self.reader is not None:
            self.reader.close()

    def _browse_screen(self, root: Path, store_dir: Path) -> BrowseScreen:
        if self.reader is not None:
            self.reader.close()
        self.reader = Reader(root, store_dir, self.backend if root.resolve() == self.root.resolve() else None)
        self.browse = BrowseScreen(self.reader)
        return self.browse

    def painted(self, what: str) -> None:
        """The browse screen shows its first files, then has all of them: what the start-up benchmark
        measures (it sets VEXPLORE_FIRST_PAINT; the app exits once all files are in)."""
        if self._first_paint_file:
            self._paints[what] = time.time()
            if what == "all files":
                heavy = sorted(
                    m for m in sys.modules if m in ("torch", "transformers", "sentence_transformers")
                )
                Path(self._first_paint_file).write_text(json.dumps({"times": self._paints, "heavy": heavy}))
                self.exit()

    # ---- folders and indexing ----------------------------------------------------------------
    def _store_dir(self, folder: Path) -> Path:
        same = folder.resolve() == self.root.resolve()
        return self.store_dir if same else find_store_dir(folder, None, create=True)

    def open_folder(self, folder: Path) -> None:
        self.switch_screen(self._browse_screen(folder, self._store_dir(folder)))

    def start_index(self, folder: Path, models: list[str]) -> None:
        """Index folder with models (none: what the store has plus defaults) while the user browses."""
        if self.index_run is not None and self.index_run.state.active:
            self.notify("indexing is already running (x cancels it)", severity="warning")
            return
        store_dir = self._store_dir(folder)
        if self.reader is None or self.reader.root.resolve() != folder.resolve():
            self.open_folder(folder)
        self.index_run = IndexRun(folder, store_dir, models, self._run_changed, self.index_args)
        self.run_worker(self.index_run.run(), group="index", exclusive=True, exit_on_error=False)

    def _run_changed(self, state: RunState) -> None:
        was_indexing = self.reader is not None and self.reader.indexing
        if self.reader is not None:
            self.reader.indexing = state.active
        if self.browse is not None and self.browse.is_attached:
            self.browse.show_run(state)
            if was_indexing and not state.active:
                self.browse.run_finished()
        if not state.active and state.phase == "done":
            self.set_timer(10, self._hide_finished_run)

    def _hide_finished_run(self) -> None:
        run = self.index_run
        if run is not None and not run.state.active and self.browse is not None and self.browse.is_attached:
            self.browse.hide_run()

    # ---- actions -----------------------------------------------------------------------------
    def action_help(self) -> None:
        from .screens.help import HelpScreen  # the screens seldom seen load when first asked for

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_index(self) -> None:
        if self.reader is not None:
            self.start_index(self.reader.root, [])

    def action_cancel_index(self) -> None:
        if self.index_run is None or not self.index_run.state.active:
            self.notify("no indexing is running")
            return
        self.index_run.cancel()

    async def action_errors(self) -> None:
        from .screens.errors import ErrorsScreen

        rows = await self.reader.errors() if self.reader is not None else []
        seen = {path for path, _, _ in rows}
        run = self.index_run
        if run is not None:
            rows += [e for e in run.state.errors if e[0] not in seen]
            seen |= {e[0] for e in run.state.errors}
            for err in run.state.summary.errors if run.state.summary else []:
                if err.path not in seen:  # skipped by the scan: no model ever saw them
                    rows.append((err.path, "scan", err.reason))
        self.push_screen(ErrorsScreen(rows))

    async def action_models(self) -> None:
        from .screens.models import AUTO, ModelSwitcher

        models = await self.reader.models() if self.reader is not None else []
        if not models:
            self.notify("no model has vectors here yet")
            return

        def chosen(name: str | None) -> None:
            if name is None:
                return
            self.model_name = None if name == AUTO else name
            if self.browse is not None:
                self.browse.model_changed()

        self.push_screen(ModelSwitcher(models, self.model_name), chosen)

    async def _models_or_warn(self) -> list:
        models = await self.reader.models() if self.reader is not None else []
        if not models:
            self.notify("nothing is indexed yet")
        return models

    async def action_stats(self) -> None:
        from .screens.stats import StatsScreen  # numpy-heavy statistics: loaded when first asked for

        models = await self._models_or_warn()
        if models:
            name = self.model_name or (self.browse.neighbor_model if self.browse else None) or models[0].name
            self.push_screen(StatsScreen(self.reader.queries, name), self._open_picked)  # type: ignore[union-attr]

    async def action_compare(self) -> None:
        from .screens.compare import CompareScreen

        models = await self._models_or_warn()
        if not models:
            return
        first = next((m for m in models if m.name == self.model_name), models[0])
        other = next(
            (m for m in models if m.name != first.name and set(m.modalities) & set(first.modalities)),
            next((m for m in models if m.name != first.name), None),
        )
        if other is None:
            self.notify("comparing needs two indexed models: index the folder with a second model")
            return
        self.push_screen(
            CompareScreen(self.reader.queries, first.name, other.name),  # type: ignore[union-attr]
            self._open_picked,
        )

    def _open_picked(self, path: str | None) -> None:
        """A file picked on the statistics or comparison screen becomes the current file."""
        if path and self.browse is not None:
            self.browse.jump(path)

    async def action_quit(self) -> None:
        if self.index_run is not None and self.index_run.state.active:
            self.notify("stopping indexing (finished batches are kept)…")
            await self.index_run.stop()
        if self.reader is not None:
            self.reader.close()
        self.exit()

    # ---- command palette ---------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        browse = screen if isinstance(screen, BrowseScreen) else None
        if browse is not None:
            yield SystemCommand("Search", "Find files by meaning from free text (/)", browse.action_search)
            yield SystemCommand("Filter files", "Filter the file list by name (f)", browse.action_filter)
            yield SystemCommand("Back", "The file before this jump ([)", browse.action_back)
            yield SystemCommand("Forward", "Undo a back (])", browse.action_forward)
            yield SystemCommand("More neighbors", "Raise k (+)", browse.action_more)
            yield SystemCommand("Fewer neighbors", "Lower k (-)", browse.action_fewer)
            yield SystemCommand(
                "Kind of files",
                "Show only text, image, audio or video files (m)",
                browse.action_cycle_modality,
            )
            yield SystemCommand(
                "Sort files", "By name, kind, size or most recent (s)", browse.action_cycle_sort
            )
        if self.reader is not None:
            yield SystemCommand(
                "Switch model", "Which indexed model answers neighbors and search (M)", self.action_models
            )
            yield SystemCommand("Errors", "Files that failed, and why (e)", self.action_errors)
            yield SystemCommand(
                "Index now", "Embed new and changed files while browsing (i)", self.action_index
            )
            yield SystemCommand(
                "Statistics", "Norms, hubness, duplicates, clusters of a model's space (t)", self.action_stats
            )
            yield SystemCommand(
                "Compare models", "How two models see the same files (c)", self.action_compare
            )
        if self.index_run is not None and self.index_run.state.active:
            yield SystemCommand(
                "Cancel indexing", "Stop after the current batch (x)", self.action_cancel_index
            )
        yield SystemCommand("Help", "Keys and what the screen shows (?)", self.action_help)
        yield from super().get_system_commands(screen)


def wants_pictures(root: Path, store_dir: Path) -> bool:
    """Whether the folder has images or videos (so it is worth asking the terminal about graphics)."""
    if not (store_dir / "catalog.sqlite").exists():
        return True  # the start screen: anything may get indexed
    try:
        with Store(root, store_dir, readonly=True) as store:
            return store.has_modality("image", "video")
    except (StoreError, sqlite3.Error):
        return False


def run_app(path: Path, store: str | None = None, backend=None) -> None:
    """`vexplore PATH`: the explorer over PATH (the CLI's default command). backend: where neighbor
    queries go (None: the local hnswlib index; the CLI passes e.g. a Milvus backend)."""
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"{path}: not a folder" if root.exists() else f"{path}: no such folder")
    store_dir = find_store_dir(root, store, create=True)
    graphics.prepare(wants_pictures(root, store_dir))
    VexploreApp(root, store_dir, backend=backend).run()
