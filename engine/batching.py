"""Batch sizes that fit: a starting size from the model and the free memory, grown while it fits and
speeds up, halved on an out-of-memory error with the same parts tried again, so that no part is lost
and no run dies of OOM (a part that fails alone becomes a failed file with the reason)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .models.base import Adapter, Embedded

GAIN = 1.05  # a doubled batch must be this much faster per part to be kept
CEILING = 1024  # parts per model call, at most, when the size grows by itself (a commit holds four)
HEADROOM = 0.5  # share of the free GPU memory the starting batch may plan to use
MIN_ITEM_BYTES = 4 << 20  # the least activation memory one part is assumed to need


@dataclass
class BatchSizer:
    """The batch size of one model on one device, and what it learned: rates per size, a ceiling
    after an out-of-memory error."""

    size: int
    grow: bool = False  # grow by itself (on a GPU, when the user did not set --batch-size)
    ceiling: int = CEILING
    settled: bool = False
    rates: dict[int, float] = field(default_factory=dict)  # parts per second, per batch size
    timed: int = 0  # full batches timed; the first is a warm-up and not used
    oom: int = 0  # out-of-memory errors backed off from

    def observe(self, parts: int, seconds: float) -> None:
        """One full batch done in `seconds`: double the size while that keeps paying."""
        if not self.grow or self.settled or parts < self.size:
            return
        self.timed += 1
        if self.timed == 1:
            return
        rate = parts / max(seconds, 1e-9)
        self.rates[self.size] = rate
        smaller = self.rates.get(self.size // 2)
        if smaller is not None and rate < smaller * GAIN:
            self.size //= 2  # the bigger batch did not pay: keep the smaller one
            self.settled = True
        elif self.size * 2 > self.ceiling:
            self.settled = True
        else:
            self.size *= 2

    def shrink(self) -> bool:
        """Halve after an out-of-memory error; False when already at one part."""
        if self.size <= 1:
            return False
        self.oom += 1
        self.size //= 2
        self.ceiling, self.settled = self.size, True
        return True


def is_oom(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, or the RuntimeError other backends (mps, older torch) raise."""
    return type(exc).__name__ == "OutOfMemoryError" or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def attach(adapter: Adapter) -> BatchSizer:
    """A sizer for a loaded adapter: what the user asked for, else a start from the free memory."""
    if adapter.requested_batch:
        adapter.sizer = BatchSizer(adapter.requested_batch)
    else:
        on_gpu = adapter.device.startswith("cuda")
        adapter.sizer = BatchSizer(starting_size(adapter) if on_gpu else adapter.default_batch(), grow=on_gpu)
    return adapter.sizer


def starting_size(adapter: Adapter) -> int:
    """A power of two the free GPU memory can hold for this model, at least its own default: each part
    is assumed to need activations of a sixteenth of the weights' bytes (growth and back-off correct
    the guess)."""
    import torch

    free, _ = torch.cuda.mem_get_info(adapter.device)
    per_part = max(MIN_ITEM_BYTES, weight_bytes(adapter) // 16)
    fits = int(free * HEADROOM // per_part)
    size = adapter.default_batch()
    while size * 2 <= min(fits, CEILING // 2):
        size *= 2
    return size


def weight_bytes(adapter: Adapter) -> int:
    """Bytes of the torch modules an adapter holds (its model, encoder, towers…)."""
    total = 0
    for value in vars(adapter).values():
        params = getattr(value, "parameters", None)
        if callable(params):
            try:
                total += sum(p.numel() * p.element_size() for p in params())
            except (TypeError, AttributeError):
                continue
    return total


def embed_parts(adapter: Adapter, parts: list[Any]) -> Embedded:
    """adapter.embed over parts in batches of the sizer's size, halving and retrying on OOM. Texts are
    batched longest first (as sentence-transformers does within one call), so a batch pads to lengths
    like its own; the vectors come back in the parts' order."""
    sizer = adapter.sizer
    if sizer is None:
        return adapter.embed(parts)
    if len(parts) > 1 and all(isinstance(p, str) for p in parts):
        order = np.argsort([-len(p) for p in parts], kind="stable")
        out = _embed_in_batches(adapter, sizer, [parts[i] for i in order])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        labels = None if out.labels is None else [out.labels[i] for i in back]
        return Embedded(np.asarray(out.vectors)[back], labels)
    return _embed_in_batches(adapter, sizer, parts)


def _embed_in_batches(adapter: Adapter, sizer: BatchSizer, parts: list[Any]) -> Embedded:
    vectors: list[np.ndarray] = []
    labels: list[list[tuple[str, float]]] = []
    labelled = False
    at = 0
    while at < len(parts):
        chunk = parts[at : at + sizer.size]
        started = time.perf_counter()
        try:
            out = adapter.embed(chunk)
        except Exception as exc:
            if not is_oom(exc):
                raise
            _release(adapter.device)
            if not sizer.shrink():
                raise
            continue
        sizer.observe(len(chunk), time.perf_counter() - started)
        vectors.append(np.asarray(out.vectors, dtype=np.float32))
        labelled = labelled or out.labels is not None
        labels.extend(out.labels if out.labels is not None else [[] for _ in chunk])
        at += len(chunk)
    dim = adapter.dim
    joined = np.concatenate(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
    return Embedded(joined, labels if labelled else None)


def _release(device: str) -> None:
    """Give the cached blocks of the failed batch back before the smaller one runs."""
    if device.startswith("cuda") and "torch" in sys.modules:
        import torch

        torch.cuda.empty_cache()
