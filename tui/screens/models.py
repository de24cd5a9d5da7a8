"""The model switcher: which indexed model answers neighbors and search (auto: each file's own)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from vexplore.engine.store import ModelRow

from ..literal import literal

AUTO = "\0auto"  # an option id no model name can take


def model_prompt(m: ModelRow) -> Text:
    text = literal(m.name, style="bold")
    text.append(
        f"  {'/'.join(m.modalities)} · {m.dim}-d · {m.rows} vectors · {m.backend}", style="bright_black"
    )
    if m.text_queries:
        text.append(" · text search", style="green")
    return text


class ModelSwitcher(ModalScreen[str | None]):
    """Dismisses with a model name, AUTO, or None (cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, models: list[ModelRow], current: str | None) -> None:
        super().__init__()
        self.models = models
        self.current = current

    def compose(self) -> ComposeResult:
        options = [
            Option(Text("auto — each file's own model; search asks every model with a text tower"), id=AUTO)
        ]
        options += [Option(model_prompt(m), id=m.name) for m in self.models]
        yield OptionList(*options, id="model-list")

    def on_mount(self) -> None:
        lst = self.query_one(OptionList)
        lst.border_title = "Model for neighbors and search"
        lst.highlighted = next((n for n, m in enumerate(self.models, 1) if m.name == self.current), 0)
        lst.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


def compare_pair(models: list[ModelRow], preferred: str | None) -> tuple[str, str] | None:
    """The chosen model (or the first of models, not empty) and another, one for the same kinds of files if
    there is one; None: only one model."""
    first = next((m for m in models if m.name == preferred), models[0])
    others = [m for m in models if m.name != first.name]
    other = next((m for m in others if set(m.modalities) & set(first.modalities)), None)
    other = other or next(iter(others), None)
    return None if other is None else (first.name, other.name)
