"""Path completion in the search bar: a term written as a path (./, ../, /, ~/) is completed with the
next matching name on disk, so that searching by any file, inside the folder or not, is a few keys away
(Textual shows the rest greyed out; → accepts it)."""

from __future__ import annotations

import os
from itertools import islice
from pathlib import Path

from textual.suggester import Suggester

PATH_STARTS = ("./", "../", "/", "~/")
MAX_ENTRIES = 5000  # a huge folder is looked through this far, no further, per keystroke


class PathSuggester(Suggester):
    """Completes the last word of the input when it starts like a path: relative to the working folder,
    else to the explored folder."""

    def __init__(self, root: Path) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.root = root

    async def get_suggestion(self, value: str) -> str | None:
        last = value.rpartition(" ")[2]
        if not last.startswith(PATH_STARTS):
            return None
        typed = Path(last).expanduser()
        folder, stem = (typed, "") if last.endswith("/") else (typed.parent, typed.name)
        for base in (folder, self.root / folder) if not folder.is_absolute() else (folder,):
            name = first_name(base, stem)
            if name is not None:
                return value + name[len(stem) :]
        return None


def first_name(folder: Path, stem: str) -> str | None:
    """The first name (in order) in folder that starts with stem, not hidden unless asked; folders end
    in '/'."""
    try:
        with os.scandir(folder) as entries:
            names = [
                e.name + ("/" if e.is_dir() else "")
                for e in islice(entries, MAX_ENTRIES)
                if e.name.startswith(stem) and (stem.startswith(".") or not e.name.startswith("."))
            ]
    except OSError:
        return None
    return min(names) if names else None
