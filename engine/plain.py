"""Typed records to plain JSON values: the one conversion the events and the reports share, so that a
dataclass field's order is its key's order on the wire and nothing non-JSON slips through."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any


def plain(value: Any) -> Any:
    """Dataclasses become dicts (through their own `to_json` when they have one), tuples lists."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json) and not isinstance(value, type):
        return to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def record(value: Any) -> dict[str, Any]:
    """A dataclass's own fields as plain JSON, in field order (what a `to_json` builds on)."""
    return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
