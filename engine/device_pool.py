"""One embedding worker process per GPU (`--gpus`), fed from the shared decode pool: the main process
decodes (its loader workers), hands one commit's worth of decoded files at a time to whichever worker
is free, and yields the results in the order they were handed out, so the one writer commits them as
a single-device run would. No Ray on one box: plain processes and queues."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any

from .catalog import FileRow
from .errors import UserError
from .models.base import Decoded, Location, ModelSpec
from .results import FileResult

AHEAD = 2  # units in flight per worker: one embedding, one queued, so no worker waits on the next
POLL_S = 1.0  # how often a wait checks that the workers are still alive

Unit = tuple[list[tuple[FileRow, Decoded]], list[FileResult[FileRow]]]  # decoded files, failed ones


@dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to build and load its own copy of the model (plain data: it is pickled)."""

    spec: ModelSpec
    location: Location
    requested_batch: int | None
    trust_remote_code: bool
    precision: str


def serve(
    settings: WorkerSettings, slot: int, device: str, inbox: Any, outbox: Any, workers: int = 1
) -> None:
    """A worker process: load the model on device, then embed units until told to stop (None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the main process decides
    from .batching import attach
    from .devices import pick_device
    from .models import registry
    from .stages import embed_decoded

    try:
        adapter = registry.family_adapter(settings.spec, settings.location)
        adapter.requested_batch = settings.requested_batch
        adapter.trust_remote_code, adapter.precision = settings.trust_remote_code, settings.precision
        device = pick_device(device, adapter.needs_torch)
        if device == "cpu" and adapter.needs_torch:  # cpu workers (tests, the smoke run) share the cores
            import torch

            torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // workers))
        adapter.load(device)
        sizer = attach(adapter)
    except Exception as exc:  # noqa: BLE001 - reported to the main process as one line
        outbox.put(("failed", slot, f"{type(exc).__name__}: {str(exc)[:300]}"))
        return
    outbox.put(("ready", slot, (adapter.dim, sizer.size)))
    while (job := inbox.get()) is not None:
        seq, pending = job
        outbox.put(("done", slot, (seq, embed_decoded(adapter, pending), sizer.size)))


class DevicePool:
    """The worker processes of one model, started by `start` and stopped by `close`."""

    def __init__(self, settings: WorkerSettings, devices: list[str]):
        ctx = mp.get_context("spawn")  # CUDA cannot be used in a forked child
        self.devices = devices
        self.inbox, self.outbox = ctx.Queue(), ctx.Queue()
        self.procs = [
            ctx.Process(
                target=serve, args=(settings, i, d, self.inbox, self.outbox, len(devices)), daemon=True
            )
            for i, d in enumerate(devices)
        ]
        self.sizes: dict[int, int] = {}  # batch size per worker slot
        self.dim = 0
        self.closed = False

    def start(self) -> None:
        """Start the workers and wait until every one has loaded the model (or say which could not)."""
        for p in self.procs:
            p.start()
        while len(self.sizes) < len(self.procs):
            kind, slot, body = self._next()
            if kind == "failed":
                self.close()
                raise UserError(
                    f"the embedding worker on {self.devices[slot]} could not load the model: {body}"
                )
            self.dim, self.sizes[slot] = body

    @property
    def batch_size(self) -> int:
        return max(self.sizes.values(), default=0)

    def run(self, units: Iterable[Unit]) -> Generator[list[FileResult[FileRow]], None, None]:
        """Results per unit, in the order the units came, whichever worker embedded them."""
        failed: dict[int, list[FileResult[FileRow]]] = {}
        done: dict[int, list[FileResult[FileRow]]] = {}
        sent = given = 0
        for pending, errors in units:
            failed[sent] = errors
            if pending:
                self.inbox.put((sent, pending))
            else:
                done[sent] = []
            sent += 1
            while sent - given - len(done) >= AHEAD * len(self.procs):
                self._collect(done)
            while given in done:
                yield done.pop(given) + failed.pop(given)
                given += 1
        while given < sent:
            if given not in done:
                self._collect(done)
                continue
            yield done.pop(given) + failed.pop(given)
            given += 1

    def _collect(self, done: dict[int, list[FileResult[FileRow]]]) -> None:
        kind, slot, body = self._next()
        if kind == "done":
            seq, results, size = body
            done[seq], self.sizes[slot] = results, size

    def _next(self) -> tuple[str, int, Any]:
        while True:
            try:
                return self.outbox.get(timeout=POLL_S)
            except queue.Empty:
                procs = zip(self.devices, self.procs, strict=True)
                dead = [(d, p.exitcode) for d, p in procs if not p.is_alive()]
                if dead:
                    self.close()
                    raise UserError(
                        f"the embedding worker on {dead[0][0]} stopped (exit code {dead[0][1]})"
                    ) from None

    def close(self) -> None:
        """Tell the workers to stop and wait for them (then end any that hang)."""
        if self.closed:
            return
        self.closed = True
        try:  # units not started yet are dropped: a stopped run should not wait for them
            while True:
                self.inbox.get_nowait()
        except (queue.Empty, OSError, ValueError):
            pass
        for p in self.procs:
            if p.is_alive():
                self.inbox.put(None)
        for p in self.procs:
            if p.pid is not None:
                p.join(timeout=10)
                if p.is_alive():
                    p.terminate()
                    p.join(timeout=5)
