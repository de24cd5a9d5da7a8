"""What the browse screen opens over itself: the statistics, audit and comparison screens, each about the
model in view. A file picked there becomes the current file; an audit's set of files narrows the list."""

from __future__ import annotations

from textual.screen import Screen

from ..appref import explorer
from ..reader import Reader
from ..widgets.file_list import Only


class ReportActions(Screen):
    """The browse screen's report actions; it provides the current file's model, jump and narrow."""

    reader: Reader
    neighbor_model: str | None  # the model that answered the last neighbors

    def jump(self, path: str) -> None:
        raise NotImplementedError

    def narrow(self, only: Only | None) -> None:
        raise NotImplementedError

    async def _report_model(self) -> str | None:
        """The model a report is about: the one chosen, else the current file's, else the first."""
        app = explorer(self)
        models = await app.indexed_models()
        return (app.model_name or self.neighbor_model or models[0].name) if models else None

    async def action_stats(self) -> None:
        from .stats import StatsScreen  # numpy-heavy statistics: loaded when first asked for

        if name := await self._report_model():
            self.app.push_screen(StatsScreen(self.reader.queries, name), self._picked)

    async def action_audit(self) -> None:
        from .audit import AuditScreen

        if name := await self._report_model():
            self.app.push_screen(AuditScreen(self.reader.queries, name, reader=self.reader), self._audited)

    def _audited(self, pick: tuple[str | None, Only | None] | None) -> None:
        """The audit's choice: (a file to show with its neighbors, a set of files to narrow the list to)."""
        path, only = pick or (None, None)
        if only is not None:
            self.narrow(only)
        if path:
            self.jump(path)

    async def action_compare(self) -> None:
        from .compare import CompareScreen
        from .models import compare_pair

        app = explorer(self)
        models = await app.indexed_models()
        if not models:
            return
        pair = compare_pair(models, app.model_name)
        if pair is None:
            app.notify("comparing needs two indexed models: index the folder with a second model")
            return
        app.push_screen(CompareScreen(self.reader.queries, *pair), self._picked)

    def _picked(self, path: str | None) -> None:
        if path:
            self.jump(path)
