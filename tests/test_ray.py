"""`--engine ray`: the same folder indexed locally and on Ray Data gives the same vectors, neighbors and
incremental behaviour. One small local Ray (2 CPUs) serves the whole module; the CLI joins it by address."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import ray

from tests.conftest import write_corpus
from vexplore.engine.errors import UserError
from vexplore.engine.events import Event
from vexplore.engine.models.base import (
    Adapter,
    Decoded,
    DecodeError,
    Embedded,
    Location,
    ModelError,
    ModelSpec,
)
from vexplore.engine.pipeline import LocalStages, Options, index_folder
from vexplore.engine.query import open_explorer
from vexplore.engine.results import FailedFile
from vexplore.engine.store import FileRow, Store, find_store_dir

LONG = " ".join(
    f"Chapter {i}: the expedition crossed the glacier and mapped the frozen valley." for i in range(60)
)


@pytest.fixture(scope="module")
def ray_address():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def _folder(root: Path) -> Path:
    write_corpus(root)
    (root / "long.txt").write_text(LONG)  # several token windows: window vectors are compared too
    (root / "binary.txt").write_bytes(b"\x00\x01binary\x00" * 40)  # a per-file failure on both engines
    return root


@pytest.fixture(scope="module")
def pair(tmp_path_factory, ray_address):
    """The same files (same mtimes) indexed locally and with --engine ray; each run's events and summary."""
    base = tmp_path_factory.mktemp("ray")
    local = _folder(base / "local")
    remote = base / "ray"
    shutil.copytree(local, remote, copy_function=shutil.copy2)
    runs = {}
    for root, engine in ((local, "local"), (remote, "ray")):
        events: list[Event] = []
        summary = index_folder(root, find_store_dir(root, create=True), Options(engine=engine), events.append)
        runs[engine] = (events, summary)
    return local, remote, runs


def _vectors(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    with Store(root, find_store_dir(root), readonly=True) as store:
        model = store.model("minilm")
        return {
            path: (store.file_vector(model, f.id), store.window_vectors(model, f.id))
            for path, f in store.files().items()
            if store.file_vector(model, f.id) is not None
        }


def _neighbors(root: Path) -> dict[str, list[tuple[str, float]]]:
    explorer = open_explorer(root)
    return {path: [(h.path, h.score) for h in hits] for path, _, hits in explorer.all_neighbors(k=10)}


def _assert_same_space(a: Path, b: Path) -> None:
    va, vb = _vectors(a), _vectors(b)
    assert sorted(va) == sorted(vb)
    for path, (vec, win) in va.items():
        np.testing.assert_allclose(vb[path][0], vec, atol=1e-5, err_msg=path)
        np.testing.assert_allclose(vb[path][1], win, atol=1e-5, err_msg=path)
    na, nb = _neighbors(a), _neighbors(b)
    assert na.keys() == nb.keys()
    for path, hits in na.items():
        assert [p for p, _ in nb[path]] == [p for p, _ in hits], path
        np.testing.assert_allclose([s for _, s in nb[path]], [s for _, s in hits], atol=1e-5)


def test_ray_gives_the_local_vectors_and_neighbors(pair):
    local, remote, runs = pair
    _assert_same_space(local, remote)
    (lev, ls), (rev, rs) = runs["local"], runs["ray"]
    for key in ("files", "embedded", "unchanged", "removed", "failed"):
        assert getattr(rs, key) == getattr(ls, key), key
    assert (rs.files, rs.embedded, rs.failed) == (22, 21, 1)
    assert rs.errors == ls.errors and "NUL" in rs.errors[0].reason
    assert rs.models[0].device.startswith("ray:1x")
    # progress is reported the same way: the same event kinds, and every file accounted for
    assert [e.kind for e in rev if e.kind != "progress"] == [e.kind for e in lev if e.kind != "progress"]
    progress = [e for e in rev if e.kind == "progress"]
    assert progress and progress[-1].done == progress[-1].total == 22
    windows = _vectors(remote)["long.txt"][1]
    assert windows is not None and len(windows) > 1


def test_ray_incremental_run_matches_local(pair, ray_address):
    """Change, add and delete the same files in both folders; the Ray run goes through the CLI and joins
    the running cluster by address, with JSON progress on stderr and the summary on stdout."""
    local, remote, _ = pair
    for root in (local, remote):
        (root / "cooking" / "doc0.txt").write_text(
            "Flip the pancakes when bubbles form, then serve with syrup.\n"
        )
        (root / "football" / "extra.md").write_text("The away team won the derby on penalties.\n")
        (root / "gardening" / "doc1.md").unlink()
    expected = index_folder(local, find_store_dir(local), Options())
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "vexplore",
            "index",
            str(remote),
            "--engine",
            "ray",
            "--ray-address",
            ray_address,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("files", "embedded", "unchanged", "removed", "failed"):
        assert got[key] == getattr(expected, key), key
    assert (got["embedded"], got["removed"], got["unchanged"]) == (2, 1, 20)
    kinds = [json.loads(line)["event"] for line in proc.stderr.splitlines() if line.startswith("{")]
    assert kinds[0] == "scan" and "progress" in kinds and kinds[-1] == "done"
    _assert_same_space(local, remote)

    # nothing stale: the Ray stages are not even prepared
    events: list[Event] = []
    again = index_folder(remote, find_store_dir(remote), Options(engine="ray"), events.append)
    assert (again.embedded, again.unchanged) == (0, 22)
    assert "load" not in [e.kind for e in events]


class ByteHistogram(Adapter):
    """A real (if simple) model whose decoding needs no model: Ray decodes in CPU tasks for it."""

    family = "bytes"
    decode_in_workers = True

    def load(self, device: str) -> None:
        self.device, self.dim = device, 16

    def decode(self, path: Path, modality: str) -> Decoded:
        data = path.read_bytes()
        if b"\x00" in data:
            raise DecodeError("contains NUL bytes")
        counts = np.bincount(np.frombuffer(data, np.uint8) % 16, minlength=16).astype(np.float32)
        return Decoded(parts=[counts[:8], counts[8:]], meta={"bytes": len(data)})

    def embed(self, parts: list) -> Embedded:
        return Embedded(np.stack([np.concatenate([p, p[::-1]]) + 1.0 for p in parts]))


class Unloadable(ByteHistogram):
    def load(self, device: str) -> None:
        raise ModelError("weights are not on this node")


def test_ray_decodes_in_cpu_tasks_for_adapters_that_allow_it(tmp_path, ray_address):
    from vexplore.engine.distributed import RayStages

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    root = _folder(tmp_path / "c")
    spec = ModelSpec("bytes", "bytes", ("text",), 16, "test", "none")
    adapter = ByteHistogram(spec, Location("path", None, True))
    todo = [
        FileRow(i, p.relative_to(root).as_posix(), os.fsencode(p.relative_to(root)), "text", 0, 0, None, {})
        for i, p in enumerate(sorted(root.rglob("*.*")))
    ]
    stages = RayStages(ray_address)
    info = stages.prepare(adapter, Options(engine="ray"), lambda e: None, None)
    assert info["engine"] == "ray" and adapter.dim == 16
    got = {r.file.path: r for batch in stages.batches(adapter, root, todo, Options()) for r in batch}
    local = LocalStages()
    adapter.load("cpu")
    want = {r.file.path: r for batch in local.batches(adapter, root, todo, Options(workers=0)) for r in batch}
    assert got.keys() == want.keys() == {f.path for f in todo}
    assert got["binary.txt"].reason == want["binary.txt"].reason == "contains NUL bytes"
    for path, res in want.items():
        if not isinstance(res, FailedFile):
            np.testing.assert_allclose(got[path].vector, res.vector, atol=1e-6)
            assert got[path].meta == res.meta == {"bytes": (root / path).stat().st_size}

    # a model that cannot load on the workers stops the run with its own one-line reason
    broken = Unloadable(spec, Location("path", None, True))
    stages.prepare(broken, Options(engine="ray"), lambda e: None, None)
    with pytest.raises(UserError, match="weights are not on this node"):
        list(stages.batches(broken, root, todo, Options()))


def test_model_of_unknown_dim_is_probed_on_a_worker(tmp_path, ray_address):
    """A folder that looks like a BERT model but holds no weights: the driver never loads models, so the
    probe that learns its dim fails on a worker, and that becomes one clear line."""
    root = tmp_path / "c"
    write_corpus(root)
    fake = tmp_path / "fake-bert"
    fake.mkdir()
    (fake / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(UserError, match="cannot load model"):
        index_folder(root, find_store_dir(root, create=True), Options(models=[str(fake)], engine="ray"))


def test_unreachable_cluster_and_misused_flags_are_one_line(tmp_path):
    root = tmp_path / "c"
    write_corpus(root)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env.pop("RAY_ADDRESS", None)
    for args, message in (
        (["--engine", "ray", "--ray-address", "127.0.0.1:1"], "cannot reach Ray at 127.0.0.1:1"),
        (["--ray-address", "127.0.0.1:1"], "--ray-address needs --engine ray"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "vexplore", "index", str(root), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 2 and proc.stderr.startswith(f"vexplore: error: {message}"), proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
