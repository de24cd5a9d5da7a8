"""Optional pieces (UMAP, Ray, Milvus, pyarrow, faster-whisper) and the decoders, imported in one way so
that a missing one is one line naming what to install, said once by whoever needs it first.

Every optional import goes through `require`; code that only wants to know (a menu entry, a default)
asks `available`. A missing core dependency (a broken install) names its pip package instead of an extra.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import UserError

# The pip package of each module we import optionally, where the two names differ.
PACKAGES = {
    "umap": "umap-learn",
    "ray": "ray",
    "pymilvus": "pymilvus",
    "milvus_lite": "milvus-lite",
    "pyarrow": "pyarrow",
    "faster_whisper": "faster-whisper",
    "ctranslate2": "ctranslate2",
    "soundfile": "soundfile",
    "soxr": "soxr",
    "av": "av",
    "textual_image": "textual-image",
}


class MissingExtra(UserError):
    """An optional (or core) package this run needs is not installed; the message says what to install."""

    def __init__(self, module: str, extra: str | None, purpose: str):
        self.module, self.extra, self.purpose = module, extra, purpose
        super().__init__(missing_message(module, extra, purpose))


def package_of(module: str) -> str:
    top = module.split(".")[0]
    return PACKAGES.get(top, top)


def install_hint(module: str, extra: str | None) -> str:
    """The command that installs what is missing: the extra when there is one, else the package."""
    return f"pip install 'vexplore[{extra}]'" if extra else f"pip install {package_of(module)}"


def missing_message(module: str, extra: str | None, purpose: str) -> str:
    if extra:
        return f"{purpose} needs {package_of(module)}, which is not installed: {install_hint(module, extra)}"
    return (
        f"{purpose} needs {package_of(module)}, a dependency of vexplore missing from this environment: "
        f"{install_hint(module, extra)}"
    )


def require(module: str, extra: str | None, purpose: str) -> ModuleType:
    """The imported module, or MissingExtra: one line naming the extra (or package) to install.

    A module that is there but cannot load (soundfile without libsndfile) counts as missing too, with
    its own reason, since reinstalling is the fix either way."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(module, extra, purpose) from exc
    except OSError as exc:  # a shared library the wheel needs is absent
        raise MissingExtra(module, extra, f"{purpose} ({exc})") from exc


def available(module: str) -> bool:
    """Whether module is installed, without importing it (an empty leftover folder does not count)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin is not None
