"""Free-text search over imported vectors: the query is embedded with the model that made them, as the
user names it (`--model`) or the source's metadata does (then the stored model has its name)."""

from __future__ import annotations

from ..errors import UserError
from ..query import Explorer


def query_model_for(explorer: Explorer, model: str | None, text: bool) -> str | None:
    """The --model to hand the search: a stored model's name as it is; any other name is the model
    that made the vectors, set to embed the text queries (after checking it has a text tower). Asks
    for --model when the query has text and no stored model can embed it."""
    stored = explorer.models()
    if model is None or any(m.name == model for m in stored):
        if model is None and text and stored and not any(m.text_queries for m in stored):
            raise UserError(
                "the source does not say which model made its vectors: "
                "name it with --model to embed the query"
            )
        return model
    if len(stored) != 1:
        raise UserError(f"model {model!r} is not stored here; stored: {', '.join(m.name for m in stored)}")
    from ..models import registry

    if not registry.resolve(model).text_queries:
        raise UserError(f"model {model!r} cannot embed a text query (it has no text tower)")
    explorer.query_model = model
    return None
