"""Finding the columns a source's rows play parts with: named by the user, else by convention, and
turning a column of any scalar type into the strings a batch carries."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UserError
from .base import CONVENTIONS, Columns


def pick(part: str, named: str | None, available: Sequence[str], where: str) -> str | None:
    """The column playing `part`: the one the user named (an unknown name is an error), else the first
    conventional name present (case-insensitive), else None."""
    if named is not None:
        if named not in available:
            shown = ", ".join(available[:20]) + (", …" if len(available) > 20 else "")
            raise UserError(f"{where}: no column {named!r} for --{part}-column (columns: {shown})")
        return named
    lower = {c.lower(): c for c in available}
    for name in CONVENTIONS.get(part, ()):
        if name in lower:
            return lower[name]
    return None


def parts(columns: Columns, available: Sequence[str], where: str, skip: str | None) -> dict[str, str]:
    """part -> column for id, label, text and path, leaving out the vector column itself."""
    rest = [c for c in available if c != skip]
    found = {
        part: pick(part, getattr(columns, part), rest, where) for part in ("id", "label", "text", "path")
    }
    return {part: col for part, col in found.items() if col is not None}


def as_strings(values: Sequence[object]) -> list[str | None]:
    """A column's values as text, None kept (ids, labels, texts and paths are all strings in a Batch)."""
    return [
        None if v is None else v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        for v in values
    ]
