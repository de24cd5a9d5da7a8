"""Free-text search as the browse screen runs it: every model with a text tower (or the chosen one) answers
in its own group (scores of different models do not compare), and the pane says meanwhile what is going on
(a model loading for its first query takes seconds)."""

from __future__ import annotations

from rich.text import Text

from vexplore.engine.errors import UserError
from vexplore.engine.query import Hit
from vexplore.engine.store import ModelRow

from .literal import literal
from .reader import Reader
from .widgets.neighbors import NeighborsPane


async def search_groups(
    reader: Reader, pane: NeighborsPane, query: str, k: int, model: str | None
) -> list[tuple[ModelRow, list[Hit]]] | None:
    """Each model's hits for query; None when the search failed (the pane then says why)."""
    groups: list[tuple[ModelRow, list[Hit]]] = []
    try:
        for row in await reader.search_models(model):
            if row.name not in reader.loaded_models:
                loading = Text.assemble(
                    ("loading model ", "bold"),
                    literal(row.name, "bold"),
                    (" for text queries (first search only)…", ""),
                )
                pane.show_message(loading, mode="search", busy=True)
            elif not groups:
                pane.show_message(Text("searching…"), mode="search", busy=True)
            groups.append((row, await reader.search(query, k, row)))
    except UserError as exc:
        pane.show_message(literal(str(exc), style="yellow"), mode="search")
        return None
    except Exception as exc:  # noqa: BLE001 - a model that fails to load must not take the UI down
        pane.show_message(literal(f"search failed: {type(exc).__name__}: {exc}", style="red"), mode="search")
        return None
    return groups
