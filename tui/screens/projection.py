"""The 2-D projection as a braille scatter the user can walk with the arrow keys (or click), coloured by
cluster or by folder; Enter on a point asks to open its file."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from vexplore.engine.stats.canvas import Scatter
from vexplore.engine.stats.schema import Point


class ProjectionView(Widget, can_focus=True):
    """Scatter of a report's projection points; `selected` is the index of the highlighted point."""

    DEFAULT_CSS = """
    ProjectionView { height: 1fr; min-height: 8; border: round $primary-darken-2; }
    ProjectionView:focus { border: round $accent; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "←", show=False),
        Binding("right", "move(1, 0)", "→", show=False),
        Binding("up", "move(0, -1)", "↑", show=False),
        Binding("down", "move(0, 1)", "↓", show=False),
        Binding("enter", "pick", "Open file"),
    ]

    selected: reactive[int | None] = reactive(None)

    class Highlighted(Message):
        def __init__(self, point: Point) -> None:
            super().__init__()
            self.point = point

    class Picked(Message):
        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.points: list[Point] = []
        self.groups = np.zeros(0, np.int64)
        self._scatter: Scatter | None = None

    def set_points(self, points: list[Point], groups: np.ndarray) -> None:
        """New points (or a new colouring): groups[i] picks the colour of points[i]."""
        self.points, self.groups = points, np.asarray(groups, dtype=np.int64)
        self._scatter = None
        if self.selected is None or self.selected >= len(points):
            self.selected = 0 if points else None
        self.refresh()

    def scatter(self) -> Scatter:
        width, height = self.content_size.width, self.content_size.height
        if self._scatter is None or (self._scatter.width, self._scatter.height) != (
            max(width, 1),
            max(height, 1),
        ):
            xy = np.array([[p.x, p.y] for p in self.points]).reshape(-1, 2)
            self._scatter = Scatter(xy, self.groups, width, height)
        return self._scatter

    def render(self) -> Text:
        if not self.points:
            return Text("no points to draw", style="dim")
        return self.scatter().render(self.selected)

    def watch_selected(self, selected: int | None) -> None:
        if selected is not None and selected < len(self.points):
            self.post_message(self.Highlighted(self.points[selected]))

    def action_move(self, dx: int, dy: int) -> None:
        if self.selected is not None:
            self.selected = self.scatter().step(self.selected, dx, dy)

    def action_pick(self) -> None:
        if self.selected is not None:
            self.post_message(self.Picked(self.points[self.selected].path))

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self.points:
            return
        nearest = self.scatter().nearest(offset.x, offset.y)
        if nearest is not None:
            if nearest == self.selected:  # a second click on the chosen point opens it
                self.action_pick()
            self.selected = nearest
