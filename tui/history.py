"""Back/forward through the files the user looked at, like a browser."""

from __future__ import annotations


class History:
    """Visits in order with a cursor. Browsing the file list replaces the current visit (so back returns
    to where a jump started, not to every row the cursor passed); a jump adds a visit."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._at = -1

    @property
    def current(self) -> str | None:
        return self._items[self._at] if self._at >= 0 else None

    def visit(self, path: str, replace: bool = False) -> None:
        if path == self.current:
            return
        del self._items[self._at + 1 :]  # a new visit drops the forward part
        if replace and self._items:
            self._items[-1] = path
        else:
            self._items.append(path)
        self._at = len(self._items) - 1

    def back(self) -> str | None:
        if self._at <= 0:
            return None
        self._at -= 1
        return self.current

    def forward(self) -> str | None:
        if self._at >= len(self._items) - 1:
            return None
        self._at += 1
        return self.current

    @property
    def can_back(self) -> bool:
        return self._at > 0

    @property
    def can_forward(self) -> bool:
        return self._at < len(self._items) - 1
