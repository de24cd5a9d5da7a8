"""Events that flow up from a screen to the app (state flows down through the app's reactive attributes,
which screens watch). Dataclass messages: the fields are the contract."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.message import Message


@dataclass
class OpenFolder(Message):
    """Browse folder's store (the start screen's "open the index")."""

    folder: Path


@dataclass
class IndexFolder(Message):
    """Index folder with models (none: what the store has plus defaults), then browse it while it runs."""

    folder: Path
    models: list[str]


@dataclass
class FilesListed(Message):
    """The browse screen's file list is on screen: its first rows, or (complete) every file."""

    complete: bool
