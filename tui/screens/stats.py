"""What one model's vector space looks like: histograms, the headline figures, a projection to walk,
duplicate groups, outliers, hubs, clusters and the index's recall. Picking a file anywhere dismisses
the screen with its path (`push_screen(StatsScreen(...), callback)` receives it; None on Escape)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import numpy as np
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import (
    DataTable,
    Footer,
    Label,
    LoadingIndicator,
    Sparkline,
    Static,
    TabbedContent,
    TabPane,
)

from vexplore.engine.extras import missing_message
from vexplore.engine.printable import printable
from vexplore.engine.query_process import QueryProcess
from vexplore.engine.stats import StatsOptions
from vexplore.engine.stats.canvas import colour
from vexplore.engine.stats.projection import umap_available
from vexplore.engine.stats.schema import Distribution, StatsReport

from .computed import ComputedReportScreen, Progress
from .projection import ProjectionView

TABS = (
    ("overview", "Overview"),
    ("projection", "Projection"),
    ("duplicates", "Duplicates"),
    ("outliers", "Outliers"),
    ("hubs", "Hubs"),
    ("clusters", "Clusters"),
    ("index", "Index"),
)
HISTOGRAMS: tuple[tuple[str, str, Callable[[StatsReport], Distribution]], ...] = (  # (id, title, which)
    ("norms", "raw norm (before normalisation)", lambda r: r.norms),
    ("pairwise", "pairwise cosine", lambda r: r.pairwise_cosine),
    ("centroid", "cosine to the centroid (anisotropy)", lambda r: r.anisotropy.cosine_to_centroid),
    ("knn", "cosine distance to the k-th neighbor", lambda r: r.knn.distance),
)


def _fmt(v, digits: int = 4) -> str:
    return "—" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def figures_table(r: StatsReport) -> Table:
    """The headline numbers, one per line (no file data in here, but Text keeps it literal anyway)."""
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    an, pca, idx = r.anisotropy, r.pca, r.index
    rows = [
        ("vectors", f"{r.count} × {r.dim} ({r.dtype})"),
        ("mean pairwise cosine", _fmt(an.mean_pairwise_cosine)),
        ("centroid norm", _fmt(an.centroid_norm)),
        ("PCA: components for 90 %", str(pca.components_for_90)),
        ("PCA: top ratios", " ".join(f"{v:.3f}" for v in pca.explained_variance_ratio[:6])),
        ("intrinsic dimension (TwoNN)", _fmt(r.intrinsic_dimension.value, 2)),
        (f"hubness (skew of N{r.hubness.k})", _fmt(r.hubness.skewness, 3)),
        ("dead dimensions", str(len(r.per_dim.dead))),
        ("dominant dimensions", ", ".join(map(str, r.per_dim.dominant[:10])) or "none"),
        ("near-duplicate groups", f"{r.duplicates.group_count} (cosine ≥ {r.duplicates.threshold})"),
        ("clusters (k-means)", str(r.clusters.k)),
        ("index recall@10", f"{_fmt(idx.recall_at_ef)} at ef {idx.ef} (ef used: {idx.used_ef})"),
        ("computed in", f"{r.seconds:.2f} s"),
    ]
    for k, v in rows:
        t.add_row(k, Text(v))
    if r.sampled:
        t.add_row(
            "sampled",
            Text(", ".join(f"{k} {v.n}/{v.of}" for k, v in r.sampled.items()), style="dim"),
        )
    return t


class StatsScreen(ComputedReportScreen[str | None, StatsReport]):
    """Statistics of one model, computed in a worker thread so the UI stays live."""

    TITLE_ID = "stats-title"

    DEFAULT_CSS = """
    StatsScreen #stats-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    StatsScreen LoadingIndicator { height: 3; }
    StatsScreen #stats-tabs { height: 1fr; }
    StatsScreen TabPane { height: 1fr; padding: 0; }
    StatsScreen .hist { height: 4; margin: 0 1 1 1; }
    StatsScreen .hist Sparkline { height: 3; }
    StatsScreen .hist-title { width: 100%; color: $text-muted; }
    StatsScreen #figures { margin: 1; }
    StatsScreen #projection-info, StatsScreen #legend { height: 1; padding: 0 1; }
    StatsScreen DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("c", "toggle_colour", "Colour by cluster/folder"),
        Binding("r", "recompute", "Recompute"),
        Binding("u", "toggle_projection", "PCA/UMAP"),
        *(
            Binding(str(i), f"show_tab('{tab}')", f"{title}", show=False)
            for i, (tab, title) in enumerate(TABS, 1)
        ),
    ]

    def __init__(self, queries: QueryProcess, model_name: str | None, options: StatsOptions | None = None):
        super().__init__()
        self.queries, self.model_name = queries, model_name
        self.options = options or StatsOptions()
        self.report: StatsReport | None = None
        self.colour_by = "cluster"
        self._row_paths: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text(f"statistics — {printable(self.model_name or 'first model')}"), id="stats-title")
        yield LoadingIndicator()
        with TabbedContent(id="stats-tabs"):
            with TabPane("1 Overview", id="tab-overview"), VerticalScroll():
                yield Static(id="figures")
                for key, title, _ in HISTOGRAMS:
                    with VerticalScroll(classes="hist"):
                        yield Label(title, id=f"title-{key}", classes="hist-title")
                        yield Sparkline([], id=f"hist-{key}")
                yield Label("PCA explained variance (top components)", classes="hist-title")
                yield Sparkline([], id="hist-pca", classes="hist")
            with TabPane("2 Projection", id="tab-projection"):
                yield ProjectionView(id="projection")
                yield Static(id="legend")
                yield Static(id="projection-info")
            for number, (key, title) in enumerate(TABS[2:6], 3):
                with TabPane(f"{number} {title}", id=f"tab-{key}"):
                    yield DataTable(id=key, cursor_type="row", zebra_stripes=True)
            with TabPane("7 Index", id="tab-index"):
                yield Static(id="index")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TabbedContent).display = False
        self.compute()

    # ---- computing -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="stats")
    def compute(self) -> None:
        self.fetch_and_show()

    def fetch(self, progress: Progress) -> StatsReport:
        return self.queries.stats(self.model_name, self.options, progress=progress)

    def progress_text(self, step: str) -> Text:
        return Text(f"statistics — {printable(self.model_name or 'first model')}: computing {step} …")

    def failure_text(self, message: str) -> Text:
        return Text(f"cannot compute statistics: {printable(message)}", style="bold red")

    # ---- showing ---------------------------------------------------------------------------------
    def show(self, r: StatsReport) -> None:
        self.report = r
        self.query_one(LoadingIndicator).display = False
        self.query_one(TabbedContent).display = True
        self.query_one("#stats-title", Static).update(
            Text(f"statistics — {printable(r.model)}: {r.count} files, dim {r.dim}")
        )
        self.query_one("#figures", Static).update(figures_table(r))
        for key, title, which in HISTOGRAMS:
            s = which(r)
            h = s.histogram
            self.query_one(f"#hist-{key}", Sparkline).data = [float(c) for c in h.counts]
            span = f"  [{h.edges[0]:.4g} … {h.edges[-1]:.4g}], mean {_fmt(s.mean)}" if h.edges else ""
            self.query_one(f"#title-{key}", Label).update(Text(title + span))
        self.query_one("#hist-pca", Sparkline).data = r.pca.explained_variance_ratio
        self._colour_projection()
        self._fill_tables(r)
        idx = r.index
        table = Table(
            title=f"recall@{idx.k} against exact search ({idx.queries} sampled queries)",
            title_justify="left",
        )
        table.add_column("ef", justify="right")
        table.add_column("recall", justify="right")
        for ef, rec in idx.curve:
            table.add_row(str(ef), f"{rec:.4f}", style="bold green" if rec >= idx.target else None)
        met = idx.ef_for_target
        note = (
            f"target {idx.target} met at ef {met}; queries use ef {idx.used_ef}"
            if met is not None
            else f"target {idx.target} not met on the ef ladder"
        )
        self.query_one("#index", Static).update(_stack(table, Text(note)))

    def _colour_projection(self) -> None:
        assert self.report is not None
        pts = self.report.projection.points
        if self.colour_by == "cluster":
            groups = np.array([p.cluster for p in pts], dtype=np.int64)
            names = {c.id: f"{c.name or f'cluster {c.id}'} ({c.size})" for c in self.report.clusters.clusters}
        else:
            folders = sorted({p.folder for p in pts})
            index = {f: i for i, f in enumerate(folders)}
            groups = np.array([index[p.folder] for p in pts], dtype=np.int64)
            names = {i: f for f, i in index.items()}
        self.query_one(ProjectionView).set_points(pts, groups)
        legend = Text(
            f"{self.report.projection.method.upper()} · colour by {self.colour_by} (c): ",
            no_wrap=True,
            overflow="ellipsis",
        )
        for gid, name in list(names.items())[:12]:
            legend.append("■ ", style=colour(gid))
            legend.append(printable(name) + "  ")
        self.query_one("#legend", Static).update(legend)

    def _fill_tables(self, r: StatsReport) -> None:
        self._row_paths.clear()

        def fill(
            table_id: str, columns: tuple[str, ...], rows: Sequence[Sequence[str]], paths: list[str]
        ) -> None:
            table = self.query_one(f"#{table_id}", DataTable)
            table.clear(columns=True)
            table.add_columns(*columns)
            for i, (row, path) in enumerate(zip(rows, paths, strict=False)):
                key = f"{table_id}:{i}"
                self._row_paths[key] = path
                table.add_row(*(Text(printable(c)) for c in row), key=key)

        dup_rows, dup_paths = [], []
        for g, group in enumerate(r.duplicates.groups, 1):
            for p in group.paths:
                dup_rows.append((str(g), str(len(group.paths)), f"{group.min_cosine:.4f}", p))
                dup_paths.append(p)
        fill("duplicates", ("group", "size", "min cosine", "file"), dup_rows, dup_paths)
        fill(
            "outliers",
            ("k-NN distance", "file"),
            [(f"{o.knn_distance:.4f}", o.path) for o in r.outliers],
            [o.path for o in r.outliers],
        )
        hubs = r.hubness.top
        fill(
            "hubs",
            ("k-occurrence", "file"),
            [(f"{h.k_occurrence:g}", h.path) for h in hubs],
            [h.path for h in hubs],
        )
        c_rows, c_paths = [], []
        for c in r.clusters.clusters:
            for rank, m in enumerate(c.central):
                c_rows.append(
                    (
                        str(c.id) if rank == 0 else "",
                        c.name if rank == 0 else "",
                        str(c.size) if rank == 0 else "",
                        f"{m.cosine:.4f}",
                        m.path,
                    )
                )
                c_paths.append(m.path)
        columns = ("cluster", "name", "size", "cosine to centre", "most central files")
        fill("clusters", columns, c_rows, c_paths)

    # ---- events ----------------------------------------------------------------------------------
    def on_projection_view_highlighted(self, event: ProjectionView.Highlighted) -> None:
        p = event.point
        assert self.report is not None
        names = {c.id: c.name for c in self.report.clusters.clusters}
        cluster = printable(names.get(p.cluster) or f"cluster {p.cluster}")
        self.query_one("#projection-info", Static).update(
            Text(f"{printable(p.path)}  ({cluster}, folder {printable(p.folder)})  — Enter opens it")
        )

    def on_projection_view_picked(self, event: ProjectionView.Picked) -> None:
        self.dismiss(event.path)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        path = self._row_paths.get(str(event.row_key.value))
        if path is not None:
            self.dismiss(path)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{tab}"
        if tab in ("projection", "duplicates", "outliers", "hubs", "clusters"):  # each has a widget of its id
            self.query_one(f"#{tab}").focus()

    def action_toggle_colour(self) -> None:
        if self.report is not None:
            self.colour_by = "folder" if self.colour_by == "cluster" else "cluster"
            self._colour_projection()

    def action_toggle_projection(self) -> None:
        if self.options.projection == "pca" and not umap_available():
            self.notify(f"{missing_message('umap', 'umap', 'UMAP')}; PCA is shown", severity="warning")
            return
        self.options.projection = "umap" if self.options.projection == "pca" else "pca"
        self.action_recompute()

    def action_recompute(self) -> None:
        self.query_one(LoadingIndicator).display = True
        self.compute()

    def action_close(self) -> None:
        self.dismiss(None)


def _stack(*renderables) -> Table:
    grid = Table.grid()
    for item in renderables:
        grid.add_row(item)
    return grid
