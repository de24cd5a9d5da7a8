"""Plain-terminal output of `vexplore stats` and `vexplore compare` (Rich; file data always literal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..printable import printable
from .canvas import Scatter, colour
from .schema import Distribution, StatsReport

if TYPE_CHECKING:
    from ..compare import CompareReport

BARS = " ▁▂▃▄▅▆▇█"


def bars(counts: list[int]) -> str:
    """A histogram as one line of block characters (empty bins stay blank)."""
    top = max(counts) if counts else 0
    if top == 0:
        return ""
    return "".join(BARS[0 if c == 0 else max(1, round(8 * c / top))] for c in counts)


def _num(v, digits: int = 4) -> str:
    return "—" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _dist_row(table: Table, name: str, s: Distribution) -> None:
    table.add_row(name, _num(s.min), _num(s.mean), _num(s.max), bars(s.histogram.counts))


def _paths_table(title: str, rows: Sequence[Sequence[str]], headers: tuple[str, ...]) -> Table | Text:
    if not rows:
        return Text(f"{title}: none", style="italic")
    table = Table(title=title, title_justify="left", show_edge=False)
    for h in headers:
        table.add_column(h)
    for row in rows:
        table.add_row(*(Text(printable(c)) for c in row))
    return table


def _figures(r: StatsReport) -> Table:
    pca, idx, dim = r.pca, r.index, r.per_dim
    figures = Table(title="space", title_justify="left", show_edge=False, show_header=False)
    figures.add_column()
    figures.add_column()
    figures.add_row("mean pairwise cosine", _num(r.anisotropy.mean_pairwise_cosine))
    figures.add_row("centroid norm", _num(r.anisotropy.centroid_norm))
    figures.add_row("PCA components for 90%", str(pca.components_for_90))
    figures.add_row("PCA top ratios", " ".join(f"{v:.3f}" for v in pca.explained_variance_ratio[:5]))
    figures.add_row("intrinsic dimension (TwoNN)", _num(r.intrinsic_dimension.value, 2))
    figures.add_row("hubness (k-occurrence skew)", _num(r.hubness.skewness, 3))
    figures.add_row("dead / dominant dims", f"{len(dim.dead)} / {dim.dominant[:12]}")
    figures.add_row(
        "index recall@10",
        f"{_num(idx.recall_at_ef)} at ef {idx.ef}; target {idx.target} "
        f"met at ef {idx.ef_for_target if idx.ef_for_target is not None else 'none on the ladder'}",
    )
    return figures


def _projection(r: StatsReport) -> Panel | None:
    pts = r.projection.points
    if not pts:
        return None
    xy = np.array([[p.x, p.y] for p in pts])
    scatter = Scatter(xy, np.array([p.cluster for p in pts]), 72, 18)
    legend = Text()
    for c in r.clusters.clusters:
        legend.append(f"■ {c.id} ", style=colour(c.id))
    return Panel(Group(scatter.render(), legend), title=f"projection ({r.projection.method})", expand=False)


def stats_view(r: StatsReport) -> Group:
    head = Text(
        f"{printable(r.model)}: {r.count} vectors, dim {r.dim}, {r.dtype} ({r.seconds:.2f} s)",
        style="bold",
    )
    dists = Table(title="distributions (histogram from min to max)", title_justify="left", show_edge=False)
    for col in ("", "min", "mean", "max", "histogram"):
        dists.add_column(col, no_wrap=True)
    _dist_row(dists, "raw norm", r.norms)
    _dist_row(dists, "cos to centroid", r.anisotropy.cosine_to_centroid)
    _dist_row(dists, "pairwise cos", r.pairwise_cosine)
    _dist_row(dists, f"{r.knn.k}-NN distance", r.knn.distance)

    dup = r.duplicates
    dup_rows = [
        (str(i + 1), f"{g.min_cosine:.4f}", p) for i, g in enumerate(dup.groups[:10]) for p in g.paths
    ]
    parts: list[RenderableType] = [
        head,
        dists,
        _figures(r),
        _paths_table(
            f"near-duplicates (cosine ≥ {dup.threshold}): {dup.group_count} groups",
            dup_rows,
            ("group", "min cos", "path"),
        ),
        _paths_table(
            "outliers (farthest k-th neighbor)",
            [(f"{o.knn_distance:.4f}", o.path) for o in r.outliers],
            ("distance", "path"),
        ),
        _paths_table(
            "hubs (most often a neighbor)",
            [(f"{h.k_occurrence:g}", h.path) for h in r.hubness.top[:10]],
            ("k-occurrence", "path"),
        ),
        _paths_table(
            f"clusters (k-means, k={r.clusters.k})",
            [(str(c.id), str(c.size), ", ".join(m.path for m in c.central[:3])) for c in r.clusters.clusters],
            ("cluster", "size", "most central"),
        ),
    ]
    projection = _projection(r)
    if projection is not None:
        parts.append(projection)
    if r.sampled:
        parts.append(
            Text("sampled: " + ", ".join(f"{k} {v.n} of {v.of}" for k, v in r.sampled.items()), style="dim")
        )
    return Group(*parts)


def print_stats(report: StatsReport) -> None:
    Console(highlight=False).print(stats_view(report))


def print_compare(r: CompareReport) -> None:
    a, b = r.models
    console = Console(highlight=False)
    console.print(Text(f"{printable(a)} vs {printable(b)}: {r.files} common files, k={r.k}", style="bold"))
    console.print(f"neighbor overlap@{r.k} (mean Jaccard): {r.overlap_at_k:.3f}")
    agree = r.label_agreement_at_k
    if agree is None:
        console.print("label agreement: the folder has no labelled sub-folders")
    else:
        for name, v in agree.items():
            console.print(Text(f"label agreement@{r.k} {printable(name)}: {v:.3f}"))
        if r.better_label_agreement:
            console.print(
                Text(
                    f"→ {printable(r.better_label_agreement)} groups your folders better", style="bold green"
                )
            )
    table = Table(title="neighborhoods that differ most", title_justify="left", show_edge=False)
    table.add_column("file")
    table.add_column("overlap", justify="right")
    table.add_column(Text(printable(a)))
    table.add_column(Text(printable(b)))
    for row in r.most_different:
        na, nb = ("\n".join(printable(h.path) for h in row.neighbors[m][:5]) for m in (a, b))
        table.add_row(Text(printable(row.path)), f"{row.overlap:.2f}", Text(na), Text(nb))
    console.print(table)
