"""Which column of a source plays which part (vector, id, label, text, path): the user's names checked
against what the source holds, else the conventions of `base.CONVENTIONS`, for every reader alike.

Only the vector column is required; a source with none, or with several and no choice, is one clear line
listing the candidates, so the user knows what to pass to `--vector-column`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from .base import CONVENTIONS, Columns


@dataclass(frozen=True)
class Parts:
    """The resolved column of each part; None: the source has no such part (ids are then row numbers)."""

    vector: str
    id: str | None = None
    label: str | None = None
    text: str | None = None
    path: str | None = None

    def names(self) -> list[str]:
        """The columns to read, each once, vector first."""
        out: list[str] = []
        for name in (self.vector, self.id, self.label, self.text, self.path):
            if name is not None and name not in out:
                out.append(name)
        return out


def _listing(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def pick_vector(
    named: str | None, names: list[str], candidates: list[str], where: str, allowed: list[str] | None = None
) -> str:
    """The vector column: the one named (it must be `allowed`: lists of numbers; default the
    candidates), else the only candidate."""
    if named is not None:
        if named not in names:
            raise UserError(f"{where} has no column {named!r}; its columns: {_listing(names)}")
        if named not in (candidates if allowed is None else allowed):
            raise UserError(f"column {named!r} of {where} is not a vector column (a list of numbers)")
        return named
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UserError(f"{where} has no vector column (a list of numbers); its columns: {_listing(names)}")
    raise UserError(
        f"{where} has several vector columns ({_listing(candidates)}): pick one with --vector-column"
    )


def resolve(
    columns: Columns, names: list[str], candidates: list[str], where: str, allowed: list[str] | None = None
) -> Parts:
    """Every part's column: named ones must exist, the others are found by convention (or absent)."""
    vector = pick_vector(columns.vector, names, candidates, where, allowed)
    found: dict[str, str | None] = {}
    for part in ("id", "label", "text", "path"):
        named = getattr(columns, part)
        if named is not None:
            if named not in names:
                raise UserError(
                    f"{where} has no column {named!r} (--{part}-column); its columns: {_listing(names)}"
                )
            found[part] = named
            continue
        lower = {n.lower(): n for n in reversed(names) if n != vector}
        found[part] = next((lower[c] for c in CONVENTIONS[part] if c in lower), None)
    return Parts(vector=vector, **found)
