"""The GPU path without a GPU: device strings, --gpus workers (cpu workers through the test hook),
batch sizing with out-of-memory back-off, and mixed precision kept close to float32."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.stats_corpus import raw_vectors
from vexplore.engine.batching import BatchSizer, attach, embed_parts
from vexplore.engine.devices import FAKE_GPUS_ENV, check_device, parse_gpus
from vexplore.engine.events import ProgressEvent
from vexplore.engine.index import normalise
from vexplore.engine.models import registry
from vexplore.engine.models.base import Embedded
from vexplore.engine.pipeline import Options, index_folder
from vexplore.engine.results import EmbeddedFile, FailedFile
from vexplore.engine.stages import embed_decoded


@pytest.mark.fast
def test_device_strings() -> None:
    for good in ("auto", "cpu", "mps", "cuda", "cuda:0", "cuda:1", "cuda:12"):
        assert check_device(good) == good
    for bad in ("gpu", "cuda:", "cuda:x", "cuda1", "CPU", "cuda:1:2"):
        with pytest.raises(ValueError, match="unknown device"):
            check_device(bad)


@pytest.mark.fast
def test_gpus_option_names_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAKE_GPUS_ENV, "cpu,cpu,cpu")
    assert parse_gpus(None) == [] and parse_gpus("") == []
    assert parse_gpus("all") == ["cpu"] * 3
    assert parse_gpus("0,2") == ["cpu", "cpu"] and parse_gpus("1,1") == ["cpu"]
    with pytest.raises(ValueError, match="no GPU 3"):
        parse_gpus("0,3")
    with pytest.raises(ValueError, match="use all or GPU numbers"):
        parse_gpus("first")


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.cuda.OutOfMemoryError (matched by name, as batching.is_oom does)."""


def _toy(requested: int | None = None):
    adapter = registry.create(registry.resolve("toy"))
    adapter.requested_batch = requested
    adapter.load("cpu")
    return adapter


class Limited:
    """Wraps an adapter's embed: out of memory above `limit` parts; counts every part embedded."""

    def __init__(self, adapter, limit: int, error: type[BaseException] = OutOfMemoryError):
        self.inner, self.limit, self.error, self.embedded = adapter.embed, limit, error, 0
        adapter.embed = self

    def __call__(self, parts: list) -> Embedded:
        if len(parts) > self.limit:
            raise self.error(f"CUDA out of memory: tried {len(parts)} parts")
        self.embedded += len(parts)
        return self.inner(parts)


@pytest.mark.fast
def test_oom_backs_off_without_losing_or_repeating_parts() -> None:
    texts = [f"text number {i} " * (1 + i % 7) for i in range(203)]
    expected = _toy().embed(texts).vectors
    adapter = _toy(requested=128)
    sizer = attach(adapter)
    wrapper = Limited(adapter, limit=20)
    got = embed_parts(adapter, texts)
    np.testing.assert_array_equal(got.vectors, expected)
    assert wrapper.embedded == len(texts)  # every part once: failed batches are retried, not kept
    assert sizer.size == 16 and sizer.oom == 3 and sizer.ceiling == 16


@pytest.mark.fast
def test_texts_are_batched_longest_first_and_come_back_in_order() -> None:
    """One commit's texts are cut into batches of similar length (padding to a batch's longest text is
    what a transformer pays for), as sentence-transformers orders within one call; vectors keep order."""
    rng = np.random.default_rng(0)
    texts = [f"w{i} " * int(n) for i, n in enumerate(rng.integers(1, 60, 100))]
    expected = _toy().embed(texts).vectors
    adapter = _toy(requested=16)
    attach(adapter)
    inner, batches = adapter.embed, []
    adapter.embed = lambda parts: batches.append([len(p) for p in parts]) or inner(parts)
    np.testing.assert_array_equal(embed_parts(adapter, texts).vectors, expected)
    assert [len(b) for b in batches] == [16] * 6 + [4]
    assert all(min(a) >= max(b) for a, b in zip(batches, batches[1:], strict=False))


def test_torch_oom_at_one_part_fails_that_file_only(tmp_path: Path) -> None:
    """A real torch.cuda.OutOfMemoryError: backed off to one part, then only the file too big fails."""
    import torch

    adapter = _toy(requested=8)
    attach(adapter)
    inner = adapter.embed

    def embed(parts: list) -> Embedded:
        if len(parts) > 4 or any("huge" in p for p in parts):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return inner(parts)

    adapter.embed = embed
    decoded = [(name, adapter.decode(_write(tmp_path, name), "text")) for name in ("a", "huge", "b", "c")]
    results = embed_decoded(adapter, decoded)
    ok = {r.file: r.vector for r in results if isinstance(r, EmbeddedFile)}
    failed = {r.file: r.reason for r in results if isinstance(r, FailedFile)}
    assert sorted(ok) == ["a", "b", "c"] and list(failed) == ["huge"]
    assert "OutOfMemoryError" in failed["huge"] and adapter.batch_size() == 1
    np.testing.assert_allclose(ok["a"], normalise(_toy().embed(decoded[0][1].parts).vectors)[0], atol=1e-6)


def _write(folder: Path, name: str) -> Path:
    path = folder / f"{name}.txt"
    path.write_text(f"the file called {name}, with a few words in it")
    return path


@pytest.mark.fast
def test_batch_grows_while_it_pays_then_settles() -> None:
    sizer = BatchSizer(32, grow=True)
    per_part = {32: 1.0, 64: 0.6, 128: 0.4, 256: 0.39}  # seconds per 100 parts at each size
    for _ in range(10):
        sizer.observe(sizer.size, sizer.size * per_part.get(sizer.size, 0.39) / 100)
    assert sizer.size == 128 and sizer.settled  # 256 was not 5% faster per part than 128
    fixed = BatchSizer(32)
    fixed.observe(32, 0.001)
    fixed.observe(32, 0.001)
    assert fixed.size == 32 and fixed.shrink() and fixed.size == 16
    assert not BatchSizer(1).shrink()


@pytest.mark.fast
def test_two_workers_make_the_same_store_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--gpus all over two (cpu) workers: same vectors, committed in the same order as one device."""
    roots = []
    for name in ("one", "two"):
        root = tmp_path / name
        root.mkdir()
        for i in range(60):
            (root / f"doc{i:02d}.txt").write_text(f"document {i} on topic {i % 4} " * (1 + i % 5))
        roots.append(root)
    monkeypatch.setenv(FAKE_GPUS_ENV, "cpu,cpu")
    order: dict[str, list[str]] = {}
    for root, gpus in zip(roots, (None, "all"), strict=True):
        events: list = []
        opts = Options(models=["toy"], gpus=gpus, batch_size=3, workers=0)
        summary = index_folder(root, root / ".vexplore", opts, events.append)
        assert summary.embedded == 60 and summary.failed == 0
        assert summary.models[0].batch_size == 3
        progress = [e for e in events if isinstance(e, ProgressEvent)]
        assert len(progress) >= 4 and all(e.batch_size == 3 for e in progress)
        order[root.name] = [e.current for e in progress]
    assert order["one"] == order["two"]
    paths1, vec1, norms1 = raw_vectors(roots[0], "toy")
    paths2, vec2, norms2 = raw_vectors(roots[1], "toy")
    assert paths1 == paths2
    np.testing.assert_array_equal(vec1, vec2)
    np.testing.assert_array_equal(norms1, norms2)


@pytest.mark.fast
def test_panel_shows_the_batch_size_the_engine_reports() -> None:
    from vexplore.tui.indexer import RunState
    from vexplore.tui.widgets.index_panel import model_stats

    state = RunState()
    state.apply(ProgressEvent("minilm", 4, 11, 0, "a.txt", 8.5, 0.8, 256))
    assert model_stats(state.models["minilm"]).plain == "4/11 · 8.5 files/s · ETA 0:01 · batch 256 · ?"
    state.apply(ProgressEvent("minilm", 5, 11, 0, "b.txt", 8.5, 0.7))  # an older engine: no batch_size
    assert state.models["minilm"].batch_size == 256


def test_gpu_start_follows_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The starting batch on a GPU (free memory faked): a power of two, more memory a bigger start,
    never below the model's default nor above half the ceiling, and it grows; the cpu keeps its default."""
    import torch

    from vexplore.engine.batching import CEILING

    adapter = _toy()
    adapter.model = torch.nn.Linear(2048, 2048)  # 16 MiB of weights: 1 MiB a part, floored at 4 MiB
    adapter.device = "cuda:1"
    starts = {}
    for free_gib in (0.25, 2, 80):
        monkeypatch.setattr(
            torch.cuda, "mem_get_info", lambda device=None, f=free_gib: (int(f * 2**30), 2**37)
        )
        sizer = attach(adapter)
        starts[free_gib] = sizer.size
        assert sizer.grow and sizer.size & (sizer.size - 1) == 0
    assert starts == {0.25: 128, 2: 256, 80: CEILING // 2}
    adapter.device = "cpu"
    assert attach(adapter).size == 32 and not adapter.sizer.grow
    adapter.requested_batch = 7
    assert attach(adapter).size == 7 and not adapter.sizer.grow


@pytest.mark.fast
def test_bad_device_and_gpus_are_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.clirun import invoke

    (tmp_path / "a.txt").write_text("some text")
    monkeypatch.setenv(FAKE_GPUS_ENV, "cpu,cpu")
    for options, said in (
        (["--device", "cuda:x"], "unknown device 'cuda:x'"),
        (["--gpus", "0,5"], "no GPU 5"),
        (["--gpus", "all", "--engine", "ray"], "--gpus is for the local engine"),
    ):
        code, out, err = invoke("index", tmp_path, "--model", "toy", *options, expect=2)
        assert said in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    ran = invoke("index", tmp_path, "--model", "toy", "--gpus", "1", "--json")
    assert ran.json()["models"][0]["device"] == "cpu"  # one device named: embedded here, no worker


@pytest.mark.fast
def test_stopping_a_two_worker_run_keeps_what_was_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    root = tmp_path / "docs"
    root.mkdir()
    for i in range(60):
        (root / f"doc{i:02d}.txt").write_text(f"document {i} " * (1 + i % 5))
    monkeypatch.setenv(FAKE_GPUS_ENV, "cpu,cpu")
    stop = threading.Event()

    def emit(event) -> None:
        if isinstance(event, ProgressEvent):
            stop.set()  # Ctrl-C after the first commit

    opts = Options(models=["toy"], gpus="all", batch_size=2, workers=0)
    started = time.monotonic()
    first = index_folder(root, root / ".vexplore", opts, emit, stop)
    assert first.interrupted and 0 < first.embedded < 60 and time.monotonic() - started < 30
    again = index_folder(root, root / ".vexplore", opts)
    assert again.embedded == 60 - first.embedded and again.failed == 0
    assert len(raw_vectors(root, "toy")[0]) == 60
