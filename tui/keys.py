"""Every key of the explorer in one place. The bindings below are what the screens and the app declare, so
the footer, the help screen and the command palette all read the same ones and cannot disagree; this
module adds only the help group of each action and the few keys that are not bindings of ours."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from textual.actions import parse
from textual.app import App
from textual.binding import Binding, BindingType
from textual.dom import DOMNode

APP: list[BindingType] = [
    Binding("question_mark", "help", "Help", tooltip="keys and what the screen shows"),
    Binding("q", "quit", "Quit", tooltip="leave (a running indexer keeps what it committed)"),
]

BROWSE: list[BindingType] = [
    Binding(
        "slash",
        "search",
        "Search",
        tooltip="by meaning and keyword: words, files (./path), + and - (see the README's query syntax)",
    ),
    Binding("L", "search_file", "Search by file", show=False, tooltip="a path prompt: any file on disk"),
    Binding("l", "like_this", "More like this", show=False, tooltip="the current file as a search term"),
    Binding("f", "filter", "Filter", tooltip="the file list by name"),
    Binding("F", "all_files", "All files", show=False, tooltip="undo the audit's filter: every file again"),
    Binding("left_square_bracket,alt+left", "back", "Back", tooltip="to the file before this jump"),
    Binding("right_square_bracket,alt+right", "forward", "Forward", show=False, tooltip="undo a back"),
    Binding("plus,equals_sign", "more", "More neighbors", show=False, tooltip="raise k"),
    Binding("minus", "fewer", "Fewer neighbors", show=False, tooltip="lower k"),
    Binding("M", "app.models", "Model", tooltip="which indexed model answers neighbors and search"),
    Binding("e", "app.errors", "Errors", tooltip="files that failed, and why"),
    Binding("i", "app.index", "Index", tooltip="embed new and changed files now, while browsing"),
    Binding(
        "x",
        "app.cancel_index",
        "Cancel indexing",
        show=False,
        tooltip="stop after the current batch (twice: at once); finished batches are kept",
    ),
    Binding("t", "stats", "Stats", tooltip="norms, hubness, duplicates, clusters of a model's space"),
    Binding(
        "a",
        "audit",
        "Audit",
        show=False,
        tooltip="mislabelled files, leaks between splits, duplicates, outliers, clusters",
    ),
    Binding("c", "compare", "Compare models", show=False, tooltip="how two models see the same files"),
    Binding("m", "cycle_modality", "Kind of files", show=False, tooltip="only text, image, audio or video"),
    Binding("s", "cycle_sort", "Sort files", show=False, tooltip="by name, kind, size or most recent"),
    Binding("n", "focus_neighbors", "Neighbors", show=False, tooltip="to the list of neighbors"),
    Binding("escape", "escape", "Back to list", show=False, tooltip="from search results: back to neighbors"),
]

GROUPS = ("Browse", "Find", "Index", "Screens")
OTHER = "On this screen"  # the group of an action GROUP_OF does not name (a statistics tab, say)
GROUP_OF: dict[str, str] = {
    **dict.fromkeys(("back", "forward", "more", "fewer", "focus_neighbors", "escape"), "Browse"),
    **dict.fromkeys(
        ("search", "search_file", "like_this", "filter", "all_files", "cycle_modality", "cycle_sort"), "Find"
    ),
    **dict.fromkeys(("index", "cancel_index", "errors", "models"), "Index"),
    **dict.fromkeys(("stats", "audit", "compare", "help", "quit"), "Screens"),
}


@dataclass(frozen=True)
class StaticKey:
    """A key that is Textual's own or a widget's (list movement, Enter, Tab, Ctrl+P), kept as text."""

    group: str
    keys: str
    description: str


@runtime_checkable
class HasStaticKeys(Protocol):
    """A screen whose help lists keys beyond its bindings (the browse screen's list movement)."""

    STATIC_KEYS: tuple[StaticKey, ...]


LIST_KEYS = (
    StaticKey("Browse", "↑ ↓, j k, PgUp PgDn", "move through the files; the preview and neighbors follow"),
    StaticKey("Browse", "Enter", "on a file: go to its neighbors · on a neighbor or result: jump to it"),
    StaticKey("Browse", "Tab", "next pane"),
)


def palette_key(app: App) -> StaticKey:
    """The command palette's key, as the app has it."""
    key = app.get_key_display(Binding(app.COMMAND_PALETTE_BINDING, "command_palette"))
    return StaticKey("Screens", key, "command palette: every action by name")


@dataclass(frozen=True)
class Action:
    """One bound action as help and the palette show it: every key for it, and where it runs."""

    group: str
    keys: str
    description: str
    tooltip: str
    action: str  # as bound, e.g. "app.models" or "show_tab('duplicates')"
    on_app: bool  # runs on the app (else on the screen that binds it)

    @property
    def name(self) -> str:
        """The action's name without namespace and arguments ("models", "show_tab")."""
        return parse(self.action)[1]


def own_bindings(node: DOMNode) -> Iterator[Binding]:
    """The bindings node's own classes declare (not Textual's base ones), one Binding per key."""
    for cls in type(node).__mro__:
        declared = vars(cls).get("BINDINGS")
        if declared is not None and cls.__module__.startswith("vexplore."):
            yield from Binding.make_bindings(declared)


def bound_actions(app: App, screen: DOMNode) -> list[Action]:
    """The screen's actions, then the app's, each once with all its keys, in declaration order."""
    found: dict[tuple[bool, str], tuple[list[str], Binding]] = {}
    for node in (screen, app):
        for binding in own_bindings(node):
            on_app = node is app or binding.action.startswith("app.")
            keys, _ = found.setdefault((on_app, binding.action), ([], binding))
            keys.append(app.get_key_display(binding))
    actions = []
    for (on_app, action), (keys, binding) in found.items():
        name = parse(action)[1]
        group = GROUP_OF.get(name, OTHER)
        actions.append(Action(group, ", ".join(keys), binding.description, binding.tooltip, action, on_app))
    return actions
