"""Search as the browse screen runs it, in the query process (engine.search): a plain text query goes to
every model with a text tower (or the chosen one), each answering in its own group (scores of different
models do not compare), the first fused with the keyword index; a combined query (files, `+`, `-`,
weights) is answered once, by the model that can embed every term. The pane says meanwhile what is going
on (a model loading for its first query takes seconds)."""

from __future__ import annotations

from rich.text import Text

from vexplore.engine.errors import UserError
from vexplore.engine.query import Hit
from vexplore.engine.search import Match, SearchResult
from vexplore.engine.terms import describe, parse

from .literal import literal
from .reader import Reader
from .widgets.neighbors import NeighborsPane

Groups = list[tuple[str, list[Hit]]]


async def search_groups(
    reader: Reader, pane: NeighborsPane, query: str, k: int, model: str | None
) -> tuple[str, Groups] | None:
    """(the combination as the header shows it, each group's title and hits); None when the search
    failed (the pane then says why)."""
    try:
        terms = parse([query], reader.root)
        if not terms:
            raise UserError("empty query")
        rows = []
        if len(terms) == 1 and terms[0].kind == "text":
            try:
                rows = await reader.search_models(model)
            except UserError:
                rows = []  # no text tower: the keyword index may still answer
        results: list[SearchResult] = []
        for row in rows:
            _say(pane, row.name, reader.loaded_models)
            results.append(await reader.search_terms(terms, k, row.name, None))
        if not rows:
            _say(pane, model, reader.loaded_models)
            results.append(await reader.search_terms(terms, k, model, None))
    except UserError as exc:
        pane.show_message(literal(str(exc), style="yellow"), mode="search")
        return None
    except Exception as exc:  # noqa: BLE001 - a model that fails to load must not take the UI down
        pane.show_message(literal(f"search failed: {type(exc).__name__}: {exc}", style="red"), mode="search")
        return None
    header = query if len(terms) == 1 and terms[0].kind == "text" else describe(terms)
    return header, [(_title(r), [as_hit(m, r) for m in r.matches]) for r in results]


def _say(pane: NeighborsPane, model: str | None, loaded: set[str]) -> None:
    if model is not None and model not in loaded:
        message = Text.assemble(
            ("loading model ", "bold"), literal(model, "bold"), (" for text queries (first search only)…", "")
        )
    else:
        message = Text("searching…")
    pane.show_message(message, mode="search", busy=True)


def _title(result: SearchResult) -> str:
    """The group's heading: the model and what it embeds (a keyword-only answer says so)."""
    if result.model is None:
        return "keyword index"
    return f"{result.model.name} · {'/'.join(result.model.modalities)}"


def as_hit(m: Match, result: SearchResult) -> Hit:
    """A match as the pane lists it: the bar is the cosine where there is one; why it matched beside."""
    why = []
    if m.terms and len(m.terms) > 1:
        why += [f"{t.label()} {s:.2f}" for t, s in zip(result.terms, m.terms, strict=False)]
    if m.keyword is not None:
        why.append(f"keyword #{m.keyword.rank}")
    snippet = m.keyword.snippet if m.keyword is not None and m.keyword.snippet else None
    score = m.vector if m.vector is not None else 0.0
    return Hit(m.path, score, m.labels, why="; ".join(why) or None, snippet=snippet)
