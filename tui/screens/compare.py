"""Two models side by side on the same files: how much their neighborhoods overlap, which model keeps
the user's labelled folders together, and the files they disagree on most with both neighbor lists.
In the neighbor lists ● marks a file both models list, and a green name shares the file's label.
Selecting a file dismisses the screen with its path (None on Escape)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, LoadingIndicator, Static

from vexplore.engine.errors import UserError
from vexplore.engine.printable import printable
from vexplore.engine.query_process import QueryProcess

if TYPE_CHECKING:  # the engine's comparison code loads in the query process, not here
    from vexplore.engine.compare import CompareReport

BAR = 24


def bar(value: float) -> str:
    filled = round(value * BAR)
    return "█" * filled + "░" * (BAR - filled)


def summary_text(r: CompareReport) -> Text:
    a, b = r.models
    out = Text()
    out.append(
        f"{r.files} files embedded by both, k = {r.k}"
        + (f" ({r.queries} sampled)" if r.sampled else "")
        + "\n"
    )
    out.append(f"neighbor overlap@{r.k} (mean Jaccard)  {bar(r.overlap_at_k)} {r.overlap_at_k:.3f}\n")
    agree = r.label_agreement_at_k
    if agree is None:
        out.append(
            "label agreement: no labelled sub-folders here (put files in one folder per label)\n", style="dim"
        )
    else:
        width = max(len(printable(m)) for m in (a, b))
        for m in (a, b):
            style = "bold green" if m == r.better_label_agreement else ""
            out.append(
                f"label agreement@{r.k} {printable(m):<{width}}  {bar(agree[m])} {agree[m]:.3f}\n", style
            )
        if r.better_label_agreement:
            out.append(
                f"→ {printable(r.better_label_agreement)} keeps your labels together better\n",
                style="bold green",
            )
    return out


class CompareScreen(Screen[str | None]):
    """Comparison of model_a and model_b, computed in a worker thread."""

    DEFAULT_CSS = """
    CompareScreen #compare-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    CompareScreen LoadingIndicator { height: 3; }
    CompareScreen #summary { height: auto; padding: 1 1 0 1; }
    CompareScreen #different { height: 1fr; }
    CompareScreen #sides { height: 1fr; }
    CompareScreen #sides Vertical { width: 1fr; }
    CompareScreen #sides DataTable { height: 1fr; }
    CompareScreen Label { padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Back")]

    def __init__(self, queries: QueryProcess, model_a: str, model_b: str, k: int = 10):
        super().__init__()
        self.queries, self.model_a, self.model_b, self.k = queries, model_a, model_b, k
        self.report: CompareReport | None = None
        self._row_paths: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(
            Text(f"compare — {printable(self.model_a)} vs {printable(self.model_b)}"), id="compare-title"
        )
        yield LoadingIndicator()
        yield Static(id="summary")
        yield Label("files whose neighborhoods differ most (↑↓ to browse, Enter opens)")
        yield DataTable(id="different", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="sides"):
            with Vertical():
                yield Label(Text(printable(self.model_a)), id="label-a")
                yield DataTable(id="side-a", cursor_type="row")
            with Vertical():
                yield Label(Text(printable(self.model_b)), id="label-b")
                yield DataTable(id="side-b", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.compute()

    @work(thread=True, exclusive=True, group="compare")
    def compute(self) -> None:
        """Computed by the explorer's query process (see StatsScreen.compute); this thread waits for it."""
        try:
            report = self.queries.compare(self.model_a, self.model_b, self.k)
        except (UserError, RuntimeError) as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.show, report)

    def _failed(self, message: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one("#compare-title", Static).update(
            Text(f"cannot compare: {printable(message)}", style="bold red")
        )

    def show(self, r: CompareReport) -> None:
        self.report = r
        self.query_one(LoadingIndicator).display = False
        self.query_one("#summary", Static).update(summary_text(r))
        table = self.query_one("#different", DataTable)
        table.clear(columns=True)
        table.add_columns("file", "overlap", "label")
        for i, row in enumerate(r.most_different):
            key = f"different:{i}"
            self._row_paths[key] = row.path
            table.add_row(
                Text(printable(row.path)),
                f"{row.overlap:.2f}",
                Text(printable(row.label or "")),
                key=key,
            )
        if r.most_different:
            self._show_sides(0)
        table.focus()

    def _show_sides(self, i: int) -> None:
        assert self.report is not None
        row = self.report.most_different[i]
        a, b = self.report.models
        shared = {h.path for h in row.neighbors[a]} & {h.path for h in row.neighbors[b]}
        for side, model in (("a", a), ("b", b)):
            table = self.query_one(f"#side-{side}", DataTable)
            table.clear(columns=True)
            table.add_columns("", "score", "neighbor")
            for j, hit in enumerate(row.neighbors[model]):
                key = f"side-{side}:{i}:{j}"
                self._row_paths[key] = hit.path
                mark = Text("●", style="green") if hit.path in shared else Text("○", style="dim")
                same_label = row.label is not None and PurePosixPath(hit.path).parent.name == row.label
                table.add_row(
                    mark,
                    f"{hit.score:.3f}",
                    Text(printable(hit.path), style="green" if same_label else ""),
                    key=key,
                )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = str(event.row_key.value)
        if event.data_table.id == "different" and key.startswith("different:"):
            self._show_sides(int(key.split(":")[1]))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        path = self._row_paths.get(str(event.row_key.value))
        if path is not None:
            self.dismiss(path)

    def action_close(self) -> None:
        self.dismiss(None)
