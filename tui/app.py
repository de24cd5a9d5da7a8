"""The explorer app: opens a folder's store at once (or the start screen when there is none), runs indexing
as a child process, and holds what every screen shares (the reader, the chosen model, the index run).

Nothing here imports torch or transformers: the first free-text search loads its model in a worker."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.reactive import var
from textual.screen import Screen

from vexplore.engine.errors import UserError
from vexplore.engine.query import Backend
from vexplore.engine.store import ModelRow, Store, StoreError, find_store_dir

from . import graphics, keys
from .indexer import IndexRun, RunState
from .messages import IndexFolder, OpenFolder
from .reader import Reader
from .screens.browse import BrowseScreen

# palette: only with a store
NEEDS_STORE = frozenset({"models", "errors", "index", "stats", "audit", "compare"})


class VexploreApp(App):
    """What every screen shares, as reactive state screens watch: the chosen model and the index run."""

    CSS_PATH = "vexplore.tcss"
    TITLE = "vexplore"
    BINDINGS: ClassVar[list[BindingType]] = keys.APP

    model_name: var[str | None] = var(None)  # None: each file's own model
    run_state: var[RunState | None] = var(None, always_update=True)  # the index run's, after each event

    def __init__(
        self, root: Path, store_dir: Path, index_args: tuple[str, ...] = (), backend: Backend | None = None
    ) -> None:
        super().__init__()
        self.index_args = index_args  # extra `vexplore index` options (--device, --batch-size, ...)
        self.backend = backend  # where neighbor queries go (None: the local hnswlib index; e.g. Milvus)
        self.root = root
        self.store_dir = store_dir
        # Made before Textual starts, so the file list is read while Textual sets up the terminal.
        self.reader: Reader | None = (
            Reader(root, store_dir, backend) if (store_dir / "catalog.sqlite").exists() else None
        )
        self.index_run: IndexRun | None = None
        self.imported = False  # the store holds a vectors source's import: there is no folder to index
        self.source: str | None = None  # that source as the user named it (the top bar shows it)

    def get_default_screen(self) -> Screen:
        if self.reader is not None:
            return BrowseScreen(self.reader)
        return Screen()  # a blank base: the start screen goes on top and is swapped for browsing

    def on_mount(self) -> None:
        if self.reader is None:
            from .screens.start import StartScreen

            self.push_screen(StartScreen(self.root))

    def on_unmount(self) -> None:
        """However the app ends (quit, Ctrl+C, a test's run_test block), its query process ends with it."""
        if self.reader is not None:
            self.reader.close()

    # ---- folders and indexing ----------------------------------------------------------------
    def _store_dir(self, folder: Path) -> Path:
        same = folder.resolve() == self.root.resolve()
        return self.store_dir if same else find_store_dir(folder, None, create=True)

    def open_folder(self, folder: Path) -> None:
        if self.reader is not None:
            self.reader.close()
        same = folder.resolve() == self.root.resolve()
        self.reader = Reader(folder, self._store_dir(folder), self.backend if same else None)
        self.switch_screen(BrowseScreen(self.reader))

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

    def on_open_folder(self, message: OpenFolder) -> None:
        self.open_folder(message.folder)

    def on_index_folder(self, message: IndexFolder) -> None:
        self.start_index(message.folder, message.models)

    def _run_changed(self, state: RunState) -> None:
        if self.reader is not None:
            self.reader.indexing = state.active
        self.run_state = state  # the browse screen watches it (always_update: the same object, changed)
        if state.alert:
            self.notify(state.alert, title="indexing stopped", severity="error", timeout=30, markup=False)
            state.alert = None

    # ---- actions -----------------------------------------------------------------------------
    def action_help(self) -> None:
        from .screens.help import HelpScreen  # the screens seldom seen load when first asked for

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_index(self) -> None:
        if self.imported:
            self.notify("these vectors were imported: `vexplore import SOURCE` brings them up to date")
            return
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

    async def indexed_models(self, missing: str = "nothing is indexed yet") -> list[ModelRow]:
        """The models with vectors in the open store; none: say so (missing) and return []."""
        models = await self.reader.models() if self.reader is not None else []
        if not models:
            self.notify(missing)
        return models

    async def action_models(self) -> None:
        from .screens.models import AUTO, ModelSwitcher

        models = await self.indexed_models("no model has vectors here yet")
        if not models:
            return

        def chosen(name: str | None) -> None:
            if name is not None:
                self.model_name = None if name == AUTO else name  # watched by the browse screen

        self.push_screen(ModelSwitcher(models, self.model_name), chosen)

    async def action_quit(self) -> None:
        if self.index_run is not None and self.index_run.state.active:
            self.notify("stopping indexing (finished batches are kept)…")
            await self.index_run.stop()
        if self.reader is not None:
            self.reader.close()
        self.exit()

    # ---- command palette ---------------------------------------------------------------------
    def _offers(self, action: keys.Action) -> bool:
        """Whether the palette lists action now: the screen's always, the app's when they can act."""
        if action.name in NEEDS_STORE:
            return self.reader is not None
        if action.name == "cancel_index":
            return self.index_run is not None and self.index_run.state.active
        return True

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Each action bound on this screen (and the app's), by its binding's description and tooltip."""
        ours = [a for a in keys.bound_actions(self, screen) if self._offers(a)]
        for a in ours:
            what = f"{a.tooltip} ({a.keys})" if a.tooltip else f"({a.keys})"
            run = partial(self.run_action, a.action, self if a.on_app else screen)
            yield SystemCommand(a.description, what, run)
        titles = {a.description for a in ours}
        yield from (c for c in super().get_system_commands(screen) if c.title not in titles)


def wants_pictures(root: Path, store_dir: Path) -> bool:
    """Whether the folder has images or videos (so it is worth asking the terminal about graphics)."""
    if not (store_dir / "catalog.sqlite").exists():
        return True  # the start screen: anything may get indexed
    try:
        with Store(root, store_dir, readonly=True) as store:
            return store.has_modality("image", "video")
    except (StoreError, sqlite3.Error):
        return False


def run_app(
    path: Path,
    store: str | None = None,
    backend: Backend | None = None,
    imported: bool = False,
    index_args: tuple[str, ...] = (),
    source: str | None = None,
) -> None:
    """`vexplore PATH`: the explorer over PATH (the CLI's default command). backend: where neighbor
    queries go (None: the local hnswlib index; the CLI passes e.g. a Milvus backend); index_args: extra
    options of its indexing child (--device, --gpus)."""
    root = Path(path)
    if not root.is_dir():
        raise UserError(f"{path}: not a folder" if root.exists() else f"{path}: no such folder")
    store_dir = find_store_dir(root, store, create=True)
    graphics.prepare(wants_pictures(root, store_dir))
    from . import first_paint  # the start-up benchmark's probe, used only when it asks for one

    app_class = first_paint.FirstPaintProbe if first_paint.ENV in os.environ else VexploreApp
    app = app_class(root, store_dir, index_args=index_args, backend=backend)
    app.imported = imported or source is not None
    app.source = source
    app.run()
