"""Offline-first weight resolution: a local path, then the Hugging Face cache, then a pip model package,
then a download if the network allows. Nothing here imports torch."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from .base import Location, ModelSpec


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0") or os.environ.get(
        "TRANSFORMERS_OFFLINE", "0"
    ) not in ("", "0")


def hf_cached(repo_id: str) -> Path | None:
    """The snapshot folder of repo_id in the local HF cache, or None. Never touches the network."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:
        return None


def package_dir(package: str, subdir: str = "") -> Path | None:
    """The folder of an installed package (without importing it), optionally a sub-folder of it."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    root = Path(list(found.submodule_search_locations)[0])
    path = root / subdir if subdir else root
    return path if path.exists() else None


def locate_hf(spec: ModelSpec, package_subdir: str = "model") -> Location:
    """Where an HF-style model (an id or a local folder) would load from."""
    local = Path(spec.ref).expanduser()
    if local.exists():
        return Location("path", str(local.resolve()), True)
    cached = hf_cached(spec.ref)
    if cached is not None:
        return Location("hf-cache", str(cached), True)
    if spec.package:
        pkg = package_dir(spec.package.replace("-", "_"), package_subdir)
        if pkg is not None:
            return Location("package", str(pkg), True)
    if offline():
        return Location("missing", None, False)
    return Location("download", spec.ref, False)


def read_config(folder: Path) -> dict:
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def quiet_hf() -> None:
    """No download or weight-loading progress bars from HF libraries: our progress is the only one."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging

        logging.set_verbosity_error()
        logging.disable_progress_bar()
    except ImportError:
        pass
