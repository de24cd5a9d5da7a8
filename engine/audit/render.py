"""Plain-terminal output of `vexplore audit` (Rich): the counts per kind, then the worst items of each.
Every path and label came from a file name, so each is printed as literal, escaped text."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..printable import printable
from .report import AuditReport

SHOWN = 15  # items of each kind printed; --json has them all


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], total: int) -> RenderableType:
    if not rows:
        return Text(f"{title}: none", style="italic")
    more = f" (the first {len(rows)} of {total}; --json lists all)" if total > len(rows) else ""
    table = Table(title=title + more, title_justify="left", show_edge=False)
    for h in headers:
        table.add_column(h)
    for row in rows:
        table.add_row(*(Text(printable(c)) for c in row))
    return table


def _mislabeled_count(r: AuditReport) -> str:
    if not r.labels:
        return "— (no label folders)"
    signal = r.label_signal
    if signal is not None and not signal.usable:
        return (
            f"— (labels not predictable from these vectors: {signal.agreement:.0%} of files agree with"
            f" their neighbors, {signal.shuffled:.0%} with shuffled labels)"
        )
    return str(len(r.mislabeled))


def _counts(r: AuditReport) -> Table:
    table = Table(title="found", title_justify="left", show_edge=False, show_header=False)
    table.add_column()
    table.add_column(justify="right")
    table.add_row("likely mislabelled files", _mislabeled_count(r))
    table.add_row("leaks between splits", str(len(r.leaks)) if r.splits else "— (no split folders)")
    table.add_row("duplicate groups", str(len(r.duplicates.groups)))
    table.add_row("files in them", str(sum(len(g.paths) for g in r.duplicates.groups)))
    table.add_row("outliers listed", str(len(r.outliers)))
    table.add_row("named clusters", str(len(r.clusters)))
    return table


def audit_view(r: AuditReport) -> Group:
    graph = "exact" if r.exact else "hnswlib index"
    head = Text(
        f"{printable(r.model)}: audit of {r.count} files ({graph} neighbors, {r.seconds:.2f} s)", style="bold"
    )
    dup_rows = [
        (str(i + 1), "exact" if g.exact else f"{g.min_cosine:.4f}", p)
        for i, g in enumerate(r.duplicates.groups[:SHOWN])
        for p in g.paths[:SHOWN]
    ]
    leak_rows = [
        (lk.path, lk.split, m.path, m.split, "exact" if m.exact else f"{m.score:.4f}")
        for lk in r.leaks[:SHOWN]
        for m in lk.matches[:3]
    ]
    parts: list[RenderableType] = [
        head,
        _counts(r),
        _table(
            "likely mislabelled (score: 1 - the neighbors' probability of the given label)",
            ("score", "label", "suggested", "path"),
            [(f"{m.score:.3f}", m.label, m.suggested, m.path) for m in r.mislabeled[:SHOWN]],
            len(r.mislabeled),
        ),
        _table(
            "leaks between splits", ("path", "split", "match", "its split", "cosine"), leak_rows, len(r.leaks)
        ),
        _table(
            f"duplicate groups (cosine ≥ {r.duplicates.threshold:g}, or the same content)",
            ("group", "min cosine", "path"),
            dup_rows,
            len(r.duplicates.groups),
        ),
        _table(
            "outliers (mean cosine distance to the nearest neighbors"
            + (f", above the fence {r.outlier_fence:.4f})" if r.outlier_fence is not None else ")"),
            ("score", "path"),
            [(f"{o.score:.4f}", o.path) for o in r.outliers],
            len(r.outliers),
        ),
    ]
    if r.leak_threshold is not None:
        parts.append(Text(printable(f"leak threshold {r.leak_threshold.value:g}: {r.leak_threshold.method}")))
    if r.clusters:
        parts.append(
            _table(
                "clusters",
                ("id", "size", "name"),
                [(str(c.id), str(c.size), c.name) for c in r.clusters[:SHOWN]],
                len(r.clusters),
            )
        )
    return Group(*parts)


def print_audit(report: AuditReport) -> None:
    Console(highlight=False).print(audit_view(report))
