"""A braille scatter plot as Rich text: each terminal cell holds 2×4 dots, so a projection of a few
thousand points reads as a picture. It also answers "which point is here / to the left", which the TUI
needs to let the user pick a point and open its file (plotting libraries draw, but do not pick)."""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text

# Bit of each dot in a braille cell, by [row][column] (Unicode braille patterns, U+2800 + bits).
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int64)
SPARSE = 0.02  # at most one point per 50 cells: draw markers, not dots
MARKER = "●"
PALETTE = (
    "#4e9af1",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#edc948",
    "#76b7b2",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


def colour(group: int) -> str:
    return PALETTE[group % len(PALETTE)]


class Scatter:
    """Points scaled onto a width×height cell grid (y grows upwards, as on paper)."""

    def __init__(self, xy: np.ndarray, groups: np.ndarray, width: int, height: int):
        self.width, self.height = max(width, 1), max(height, 1)
        self.groups = np.asarray(groups, dtype=np.int64)
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        lo, hi = (xy.min(axis=0), xy.max(axis=0)) if len(xy) else (np.zeros(2), np.ones(2))
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        unit = (xy - lo) / span
        self.dot_x = np.minimum((unit[:, 0] * (2 * self.width)).astype(np.int64), 2 * self.width - 1)
        self.dot_y = np.minimum(
            ((1.0 - unit[:, 1]) * (4 * self.height)).astype(np.int64), 4 * self.height - 1
        )
        self.col, self.row = self.dot_x // 2, self.dot_y // 4

    def __len__(self) -> int:
        return len(self.col)

    def render(self, selected: int | None = None) -> Text:
        """Braille dots when the points are many; a ● per point when they are few enough to stand alone."""
        few = len(self) <= SPARSE * self.width * self.height
        bits = np.zeros((self.height, self.width), np.int64)
        np.bitwise_or.at(bits, (self.row, self.col), DOT_BITS[self.dot_y % 4, self.dot_x % 2])
        owner = np.full((self.height, self.width), -1, np.int64)
        owner[self.row, self.col] = self.groups  # any point of the cell colours it
        text = Text(no_wrap=True, overflow="crop")
        for r in range(self.height):
            for c in range(self.width):
                b = int(bits[r, c])
                style = Style(color=colour(int(owner[r, c]))) if b else Style()
                glyph = (MARKER if few else chr(0x2800 + b)) if b else " "
                if selected is not None and (r, c) == (int(self.row[selected]), int(self.col[selected])):
                    style = Style(color="black", bgcolor="white", bold=True)
                    glyph = MARKER if few else chr(0x2800 + (b or 0xFF))
                text.append(glyph, style)
            if r < self.height - 1:
                text.append("\n")
        return text

    def nearest(self, col: float, row: float) -> int | None:
        """The point drawn closest to a cell (a mouse click)."""
        if not len(self):
            return None
        d = (self.col - col) ** 2 + (2 * (self.row - row)) ** 2  # cells are about twice as tall as wide
        return int(np.argmin(d))

    def step(self, current: int, dx: int, dy: int) -> int:
        """The nearest point from current in a direction (dx, dy in cells; dy > 0 is down)."""
        ddx, ddy = self.col - self.col[current], self.row - self.row[current]
        ahead = (ddx * dx + ddy * dy) > 0
        if not ahead.any():
            return current
        along = ddx * dx + ddy * dy
        across = np.abs(ddx * dy - ddy * dx)
        cost = np.where(ahead, along + 2.0 * across, np.inf)
        return int(np.argmin(cost))
