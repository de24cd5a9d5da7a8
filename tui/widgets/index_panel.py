"""The indexing panel: per model a bar, files/s, ETA, current file, device (and GPU memory on CUDA) and
failed count; above them what the indexer is doing. Shown while a run is active and after it ends."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, Static

from ..appref import explorer
from ..indexer import ModelProgress, RunState
from ..literal import duration, literal


def model_stats(m: ModelProgress) -> Text:
    """`123/456 · 12.3 files/s · ETA 0:12 · 2 failed · batch 256 · cpu`, and the file in hand."""
    bits = [f"{m.done}/{m.todo}"]
    if m.state == "loading":
        bits = ["loading…"]
    elif m.rate:
        bits.append(f"{m.rate:.1f} files/s")
    if m.state == "embedding" and m.eta is not None:
        bits.append(f"ETA {duration(m.eta)}")
    if m.state == "done":
        bits.append("done")
    if m.failed:
        bits.append(f"{m.failed} failed")
    if m.batch_size:
        bits.append(f"batch {m.batch_size}")
    bits.append(m.gpu or m.device or "?")
    text = Text(" · ".join(bits), no_wrap=True, overflow="ellipsis")
    if m.failed:
        text.highlight_words([f"{m.failed} failed"], "red")
    return text


class ModelRow(Horizontal):
    def __init__(self, progress: ModelProgress) -> None:
        super().__init__(classes="index-model")
        self.progress_name = progress.name

    def compose(self) -> ComposeResult:
        yield Static(literal(self.progress_name, style="bold"), classes="index-model-name")
        yield ProgressBar(show_eta=False, show_percentage=False, classes="index-bar")
        yield Static(classes="index-model-stats")

    def update(self, m: ModelProgress) -> None:
        bar = self.query_one(ProgressBar)
        if m.state != "loading":
            bar.update(total=max(m.todo, 1), progress=m.done if m.todo else 1)
        self.query_one(".index-model-stats", Static).update(model_stats(m))


HIDE_AFTER = 10.0  # seconds a finished run stays on screen


class IndexPanel(Vertical):
    """Draws the app's index run as it goes (rows appear as the child announces models), from its first
    event until a while after it finished."""

    def on_mount(self) -> None:
        state = explorer(self).run_state
        self.watch(explorer(self), "run_state", self._run_changed, init=state is not None and state.active)

    def _run_changed(self, state: RunState | None) -> None:
        if state is None:
            return
        self.show_run(state)
        if not state.active and state.phase == "done":
            self.set_timer(HIDE_AFTER, self._hide_finished)

    def _hide_finished(self) -> None:
        state = explorer(self).run_state
        if state is not None and not state.active:  # (not when another run started meanwhile)
            self.display = False

    def show_run(self, state: RunState) -> None:
        self.display = True
        self.update_state(state)

    def compose(self) -> ComposeResult:
        yield Static(id="index-status")
        yield Vertical(id="index-models")
        yield Static(id="index-current")

    def update_state(self, state: RunState) -> None:
        style = {"failed": "red", "cancelled": "yellow", "done": "green"}.get(state.phase, "")
        status = Text.assemble(
            ("indexing  " if state.active else "index  ", "bold"), literal(state.message, style)
        )
        if state.errors:
            status.append(f"  ·  {len(state.errors)} failed (e)", style="red")
        if state.active:
            status.append("  ·  x cancel", style="bright_black")
        self.query_one("#index-status", Static).update(status)
        rows = self.query_one("#index-models", Vertical)
        have = {row.progress_name: row for row in rows.query(ModelRow)}
        for name, m in state.models.items():
            row = have.get(name)
            if row is None:
                row = ModelRow(m)
                rows.mount(row)
                self.call_after_refresh(row.update, m)
            else:
                row.update(m)
        current = next((m for m in reversed(list(state.models.values())) if m.state == "embedding"), None)
        line = (
            Text.assemble(("now  ", "bright_black"), literal(current.current))
            if current and current.current
            else Text("")
        )
        self.query_one("#index-current", Static).update(line)
