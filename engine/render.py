"""Plain-terminal output of the headless commands (rich tables; file data always literal)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .printable import printable


def hits_table(title: str, hits) -> None:
    table = Table(title=Text(printable(title)), title_justify="left", show_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("score", justify="right")
    table.add_column("path")
    table.add_column("labels", style="dim")
    for rank, hit in enumerate(hits, 1):
        labels = ", ".join(f"{name} {p:.0%}" for name, p in (hit.labels or [])[:3])
        table.add_row(str(rank), f"{hit.score:.3f}", Text(printable(hit.path)), Text(printable(labels)))
    Console(highlight=False).print(table)


def matches_table(result) -> None:
    """A search's results and why each matched: the cosine to the query and per term, the keyword hit."""
    from .keywords import plain_snippet

    table = Table(title=Text(printable(result.header())), title_justify="left", show_edge=False)
    for col, justify in (("#", "right"), ("score", "right"), ("path", "left"), ("why", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for rank, m in enumerate(result.matches, 1):
        why = []
        if m.vector is not None:
            why.append(f"cos {m.vector:.3f}")
        if m.terms and len(m.terms) > 1:
            why += [f"{t.label()} {s:.2f}" for t, s in zip(result.terms, m.terms, strict=False)]
        if m.keyword is not None:
            why.append(f"keyword #{m.keyword.rank}: {plain_snippet(m.keyword.snippet)}")
        table.add_row(str(rank), f"{m.score:.3f}", Text(printable(m.path)), Text(printable("; ".join(why))))
    Console(highlight=False).print(table)


def models_table(rows: list[dict]) -> None:
    table = Table(show_edge=False)
    for col in ("name", "modalities", "dim", "backend", "offline", "source"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            "/".join(r["modalities"]),
            str(r["dim"] or "?"),
            r["backend"],
            "yes" if r["available"] else "no",
            Text(printable(r["source"])),
        )
    Console(highlight=False).print(table)
