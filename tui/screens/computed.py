"""What the statistics and audit screens share: a report the explorer's query process computes (over
the index it already holds; this process never loads one) while the screen's title shows each step,
then the report, or the one line that says why there is none."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual.screen import Screen
from textual.widgets import LoadingIndicator, Static

from vexplore.engine.errors import UserError

ResultT = TypeVar("ResultT")  # what the screen returns when dismissed
ReportT = TypeVar("ReportT")  # what the query process computes for it

Progress = Callable[[str], None]


class ComputedReportScreen(Screen[ResultT], Generic[ResultT, ReportT]):
    """Subclasses name their title widget and say how to fetch, word and show their report; they call
    `fetch_and_show` from a thread worker of their own group."""

    TITLE_ID: ClassVar[str]

    def fetch(self, progress: Progress) -> ReportT:
        """Ask the query process for the report (blocks: runs in the worker thread)."""
        raise NotImplementedError

    def progress_text(self, step: str) -> Text:
        raise NotImplementedError

    def failure_text(self, message: str) -> Text:
        raise NotImplementedError

    def show(self, report: ReportT) -> None:
        raise NotImplementedError

    def fetch_and_show(self) -> None:
        try:
            report = self.fetch(lambda step: self.app.call_from_thread(self._progress, step))
        except (UserError, RuntimeError) as exc:  # RuntimeError: a failure the query process could only name
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self.show, report)

    def _progress(self, step: str) -> None:
        self.query_one(f"#{self.TITLE_ID}", Static).update(self.progress_text(step))

    def _failed(self, message: str) -> None:
        self.query_one(LoadingIndicator).display = False
        self.query_one(f"#{self.TITLE_ID}", Static).update(self.failure_text(message))
