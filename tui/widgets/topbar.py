"""The top line of the browse screen: the folder, how many files, the model in use, k, and whether back
and forward have somewhere to go."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..literal import literal


class TopBar(Static):
    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: Text | None = None

    def show(self, folder: str, files: int, model: str, k: int, back: bool, forward: bool) -> None:
        bar = Text.assemble(
            (" vexplore ", "bold reverse"),
            "  ",
            literal(folder, "bold"),
            f"  ·  {files} files  ·  model {model}  ·  k={k}",
        )
        if back or forward:
            bar.append(f"  ·  [ back{' · ] fwd' if forward else ''}", style="bright_black")
        if bar != self._shown:  # moving through files changes nothing here: skip the redraw
            self._shown = bar
            self.update(bar)
