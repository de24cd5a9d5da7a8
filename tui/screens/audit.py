"""What is wrong with a dataset and what is in it: the audit of one model's files, one tab per kind of
finding (mislabelled files, leaks between splits, duplicates, outliers, named clusters) with its count.

The screen is dismissed with a Pick: Enter on a row picks its file (the browse screen shows it with its
neighbors) — a leak or a duplicate first shows beside its match (pair.py), where either can be picked;
`f` also narrows the browse list to the row's cluster, or to every file of the tab's kind."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, LoadingIndicator, Static, TabbedContent, TabPane

from vexplore.engine.audit.report import AuditReport
from vexplore.engine.audit.run import AuditOptions
from vexplore.engine.errors import UserError
from vexplore.engine.printable import printable
from vexplore.engine.query_process import QueryProcess

from ..literal import literal
from ..reader import Reader
from ..widgets.file_list import Only
from .computed import ComputedReportScreen, Progress

TABS = (
    ("mislabeled", "Mislabeled"),
    ("leaks", "Leaks"),
    ("duplicates", "Duplicates"),
    ("outliers", "Outliers"),
    ("clusters", "Clusters"),
)
COLUMNS = {
    "mislabeled": ("score", "given", "→ suggested", "file"),
    "leaks": ("split", "file", "cosine", "match", "match split"),
    "duplicates": ("group", "size", "min cosine", "file"),
    "outliers": ("score", "file"),
    "clusters": ("cluster", "size", "name · keywords", "labels", "central files"),
}

ROWS_SHOWN = 2000  # per tab; the tab's title has the full count, and `f` narrows to every file
Pick = tuple[str | None, Only | None]  # (a file to show with its neighbors, files to narrow the list to)


@dataclass(frozen=True)
class Row:
    """What a table row stands for: the file Enter opens, and the set `f` narrows the file list to."""

    path: str | None
    only: Only | None  # None: nothing to narrow to (the clusters tab's last line)
    match: str | None = None  # the file shown beside it (a leak's match, a duplicate's first copy)
    why: str = ""  # the caption over the two: splits and score


def kind_paths(report: AuditReport, kind: str) -> frozenset[str]:
    """Every file a tab flags (a leak's matches too: both sides of a leak are worth seeing)."""
    if kind == "mislabeled":
        return frozenset(m.path for m in report.mislabeled)
    if kind == "leaks":
        return frozenset(p for leak in report.leaks for p in (leak.path, *(m.path for m in leak.matches)))
    if kind == "duplicates":
        return frozenset(p for g in report.duplicates.groups for p in g.paths)
    if kind == "outliers":
        return frozenset(o.path for o in report.outliers)
    raise ValueError(kind)


def count(report: AuditReport, kind: str) -> int:
    """The number a tab's title shows: files flagged, leaking files, duplicate groups, clusters."""
    return {
        "mislabeled": len(report.mislabeled),
        "leaks": len(report.leaks),
        "duplicates": len(report.duplicates.groups),
        "outliers": len(report.outliers),
        "clusters": len(report.clusters),
    }[kind]


def summary(r: AuditReport) -> Text:
    """The line under the title: what was looked at and how (no file data but labels, kept literal)."""
    text = Text(f"{r.count:,} files · ")
    text.append_text(literal(f"labels: {len(r.labels)}" if r.labels else "no labels"))
    if r.label_signal is not None and not r.label_signal.usable:
        signal = r.label_signal
        text.append(
            f" (not predictable from these vectors: {signal.agreement:.0%} agree with their neighbors,"
            f" {signal.shuffled:.0%} when shuffled; nothing flagged)",
            style="yellow",
        )
    text.append(" · ")
    text.append_text(literal(f"splits: {', '.join(r.splits)}" if r.splits else "no splits"))
    if r.leak_threshold is not None:
        cut = r.leak_threshold
        text.append(f" · leak cut-off: cosine ≥ {cut.value:.4f} ({printable(cut.method)})")
    text.append(f" · duplicates: cosine ≥ {r.duplicates.threshold:.4f}")
    text.append(f" · {'exact' if r.exact else 'approximate (index)'} neighbors · {r.seconds:.2f} s")
    if r.sampled:
        text.append(f" · sampled: {', '.join(map(str, r.sampled))}", style="dim")
    return text


class AuditScreen(ComputedReportScreen[Pick | None, AuditReport]):
    """The audit of one model, computed in the query process while this screen shows its progress; or a
    report given ready (tests, a report computed elsewhere)."""

    TITLE_ID = "audit-title"

    DEFAULT_CSS = """
    AuditScreen #audit-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    AuditScreen #audit-summary { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
    AuditScreen LoadingIndicator { height: 3; }
    AuditScreen #audit-tabs { height: 1fr; }
    AuditScreen TabPane { height: 1fr; padding: 0; }
    AuditScreen DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("f", "narrow", "Filter files to this", tooltip="the browse list: this cluster or this kind"),
        Binding("r", "recompute", "Recompute"),
        *(Binding(str(i), f"show_tab('{tab}')", title, show=False) for i, (tab, title) in enumerate(TABS, 1)),
    ]

    def __init__(
        self,
        queries: QueryProcess | None,
        model_name: str | None,
        options: AuditOptions | None = None,
        report: AuditReport | None = None,
        reader: Reader | None = None,
    ) -> None:
        """reader: where the side-by-side view of a leak or a duplicate reads its previews (without
        one, Enter opens the row's file in the browse screen at once)."""
        super().__init__()
        self.queries, self.model_name, self.reader = queries, model_name, reader
        self.options = options or AuditOptions()
        self.report: AuditReport | None = report
        self._rows: dict[str, Row] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(f"audit — {printable(self.model_name or 'first model')}"), id="audit-title")
        yield Static(id="audit-summary")
        yield LoadingIndicator()
        with TabbedContent(id="audit-tabs"):
            for number, (key, title) in enumerate(TABS, 1):
                with TabPane(f"{number} {title}", id=f"tab-{key}"):
                    yield DataTable(id=key, cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        if self.report is not None:
            self.show(self.report)
        else:
            self.query_one(TabbedContent).display = False
            self.compute()

    # ---- computing -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="audit")
    def compute(self) -> None:
        self.fetch_and_show()

    def fetch(self, progress: Progress) -> AuditReport:
        if self.queries is None:
            raise UserError("no query process to compute the audit in")
        return self.queries.audit(self.model_name, self.options, progress=progress)

    def progress_text(self, step: str) -> Text:
        return Text(f"audit — {printable(self.model_name or 'first model')}: {printable(step)} …")

    def failure_text(self, message: str) -> Text:
        return Text(f"cannot audit: {printable(message)}", style="bold red")

    # ---- showing ---------------------------------------------------------------------------------
    def show(self, r: AuditReport) -> None:
        self.report = r
        self.query_one(LoadingIndicator).display = False
        tabs = self.query_one(TabbedContent)
        tabs.display = True
        self.query_one("#audit-title", Static).update(Text(f"audit — {printable(r.model)}"))
        self.query_one("#audit-summary", Static).update(summary(r))
        self._rows.clear()
        for number, (key, title) in enumerate(TABS, 1):
            tabs.get_tab(f"tab-{key}").label = f"{number} {title} ({count(r, key)})"
            table = self.query_one(f"#{key}", DataTable)
            table.clear(columns=True)
            table.add_columns(*COLUMNS[key])
            kind = Only(key, kind_paths(r, key)) if key != "clusters" else None
            for i, (cells, row) in enumerate(islice(self._lines(r, key), ROWS_SHOWN + 1)):
                row_key = f"{key}:{i}"
                if i == ROWS_SHOWN:  # a table of a million rows would take the UI minutes to build
                    more = "f narrows the file list to all of them" if kind else "the CLI's --json has all"
                    cells = [Text("")] * (len(COLUMNS[key]) - 1)
                    cells.append(Text(f"… the first {ROWS_SHOWN:,} rows only: {more}", style="dim"))
                    row = Row(None, None)
                self._rows[row_key] = replace(row, only=row.only or kind)
                table.add_row(*cells, key=row_key)

    @staticmethod
    def _lines(r: AuditReport, key: str) -> Iterator[tuple[list[Text], Row]]:
        """(cells, what the row stands for) for each row of tab key, made only as far as they are read."""
        if key == "mislabeled":
            for m in r.mislabeled:
                cells = [Text(f"{m.score:.3f}"), literal(m.label), literal(m.suggested), literal(m.path)]
                yield cells, Row(m.path, None)
        elif key == "leaks":
            for leak in r.leaks:
                for j, match in enumerate(leak.matches):
                    how = "exact" if match.exact else f"{match.score:.4f}"
                    mine = [literal(leak.split), literal(leak.path)] if j == 0 else [Text(""), Text("")]
                    cells = [*mine, Text(how), literal(match.path), literal(match.split)]
                    why = "an exact copy" if match.exact else f"cosine {match.score:.4f}"
                    caption = f"{leak.split}: {leak.path}  ↔  {match.split}: {match.path} · {why}"
                    yield cells, Row(leak.path, None, match.path, caption)
        elif key == "duplicates":
            for g, group in enumerate(r.duplicates.groups, 1):
                cosine = "exact" if group.exact else f"{group.min_cosine:.4f}"
                for j, p in enumerate(group.paths):
                    head = [Text(str(g)), Text(str(len(group.paths))), Text(cosine)] if j == 0 else []
                    other = group.paths[1 if j == 0 else 0]
                    caption = f"duplicate group {g} of {len(group.paths)} · min cosine {cosine}"
                    yield [*(head or [Text("")] * 3), literal(p)], Row(p, None, other, caption)
        elif key == "outliers":
            for o in r.outliers:
                yield [Text(f"{o.score:.4f}"), literal(o.path)], Row(o.path, None)
        else:
            for c in r.clusters:
                only = Only(f"cluster {c.id}", frozenset(c.paths))
                labels = ", ".join(
                    f"{name} {n}" for name, n in sorted(c.labels.items(), key=lambda kv: -kv[1])
                )
                name = f"{c.name} · {', '.join(c.keywords)}" if c.keywords else c.name
                for j, p in enumerate(c.central or c.paths[:1]):
                    head = [Text(str(c.id)), Text(str(c.size)), literal(name), literal(labels)]
                    yield [*(head if j == 0 else [Text("")] * 4), literal(p)], Row(p, only)

    # ---- events ----------------------------------------------------------------------------------
    def _highlighted(self) -> Row | None:
        tabs = self.query_one(TabbedContent)
        table = self.query_one(f"#{(tabs.active or 'tab-mislabeled').removeprefix('tab-')}", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return self._rows.get(str(row_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self._rows.get(str(event.row_key.value))
        if row is None or row.path is None:
            return
        if row.match is None or self.reader is None:
            self.dismiss((row.path, None))
            return
        from .pair import PairScreen

        def opened(path: str | None) -> None:
            if path:
                self.dismiss((path, None))

        self.app.push_screen(PairScreen(self.reader, row.path, row.match, literal(row.why)), opened)

    def action_narrow(self) -> None:
        """Narrow the browse list to the highlighted row's cluster, or to every file of this tab's kind."""
        row = self._highlighted()
        if row is None or row.only is None:
            self.notify("nothing here to filter to")
            return
        self.dismiss((row.path, row.only))

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        self.query_one(f"#{tab}").focus()

    def action_recompute(self) -> None:
        if self.queries is None:
            return
        self.query_one(LoadingIndicator).display = True
        self.compute()

    def action_close(self) -> None:
        self.dismiss(None)
