"""Free-text search over imported vectors: the query is embedded with the model that made them, as the
user names it (`--model`) or the source's metadata does; the store's model row only names the space."""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from ..query import Explorer, Hit
from ..store import ModelRow
from .importer import DEFAULT_MODEL


def search_source(
    explorer: Explorer, query: str, k: int, model: str | None, device: str = "auto"
) -> tuple[ModelRow, list[Hit]]:
    """The k rows nearest a text query embedded with `model` (default: the model the source names)."""
    if not query.strip():
        raise UserError("empty query")
    stored = explorer.models()
    if not stored:
        raise UserError("the source holds no vectors")
    row = stored[0]
    name = model or (row.name if row.name != DEFAULT_MODEL else None)
    if name is None:
        raise UserError(
            "the source does not say which model made its vectors: name it with --model to embed the query"
        )
    from ..devices import pick_device
    from ..models import registry

    spec = registry.resolve(name)
    if not spec.text_queries:
        raise UserError(f"model {name!r} cannot embed a text query (it has no text tower)")
    adapter = registry.create(spec)
    adapter.load_for_queries(pick_device(device, adapter.needs_torch))
    vector = np.asarray(adapter.embed_text([query])[0], np.float32)
    if len(vector) != row.dim:
        raise UserError(f"model {name!r} gives {len(vector)} dimensions, the source's vectors have {row.dim}")
    return row, explorer.nearest(row, vector, k)
