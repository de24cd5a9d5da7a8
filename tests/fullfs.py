"""A real small file system for the full-disk tests: a tmpfs mounted for one test (root only, as CI
runs), filled on demand by a filler file, freed by deleting it; and a snapshot of a store to compare a
run that hit the full disk (then carried on) with a clean one."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vexplore.engine.store import Store


class SmallDisk:
    def __init__(self, mount: Path):
        self.mount = mount
        self.filler = mount / "filler"

    def fill(self) -> None:
        """Take every free byte: the next write on this file system fails with ENOSPC."""
        chunk = b"\0" * 65536
        with open(self.filler, "ab", buffering=0) as fh:
            for size in (65536, 4096, 512, 1):
                try:
                    while True:
                        fh.write(chunk[:size])
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def grow(self, size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(self.mount)], check=True)


def need_root(what: str) -> None:
    """Mounting needs root. CI runs as root, so there the tests must run: without root it fails rather
    than going green untested. Elsewhere (a developer's own account) the tests are skipped, saying why."""
    if os.geteuid() == 0:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} needs root, and CI must run these tests")
    pytest.skip(f"{what} needs root (CI runs as root)")


def small_disk(tmp_path: Path, size: str = "8m") -> Iterator[SmallDisk]:
    need_root("mounting a tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], check=True)
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def snapshot(root: Path, store_dir: Path) -> dict[str, dict[str, bytes]]:
    """Per model, every embedded file's vector bytes by path: what two runs must agree on."""
    with Store(root, store_dir) as store:
        out: dict[str, dict[str, bytes]] = {}
        for model in store.models():
            ids, rows = store.embedded(model)
            paths = store.paths_by_id(ids.tolist())
            vectors = np.asarray(store.vectors(model))
            out[model.name] = {
                paths[int(i)]: vectors[int(r)].tobytes() for i, r in zip(ids, rows, strict=True)
            }
        return out


def leftovers(root: Path, store_dir: Path) -> list[str]:
    """Files a failed write must not leave: temp files, and vector files longer than the committed rows
    or not named by the catalog."""
    found = [p.name for p in store_dir.rglob("*tmp")]
    with Store(root, store_dir) as store:
        for model in store.models():
            file = store.vector_file(model)
            if file.path.exists() and file.path.stat().st_size != model.rows * model.dim * 4:
                found.append(f"{file.path.name}: {file.path.stat().st_size} bytes for {model.rows} rows")
            found += [p.name for p in file.folder.glob("vectors*.f32") if p.name != file.name]
    return found
