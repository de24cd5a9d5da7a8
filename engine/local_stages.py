"""The default stages: decode in loader worker processes and embed in this process, or with `--gpus`
in one worker process per GPU. pipeline.py commits what they hand back."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

from .batching import BatchSizer, attach
from .catalog import FileRow
from .device_pool import DevicePool, Unit, WorkerSettings
from .errors import UserError
from .events import Emit, LoadEvent
from .heartbeat import Heartbeat
from .loader import decoded, default_workers
from .models.base import Adapter, Decoded
from .results import FailedFile, FileResult
from .stages import Options, embed_decoded

FILES_PER_COMMIT = 256


class LocalStages:
    """Decode in loader worker processes and embed in this process (the default engine), or, with
    `--gpus`, in one worker process per GPU (device_pool.py). The heartbeat (if any) hears which file
    is in hand: the next to decode, or the first of the batch being embedded."""

    def __init__(self, beat: Heartbeat | None = None) -> None:
        self.beat = beat
        self.pool: DevicePool | None = None
        self.pool_batch: int | None = None  # the workers' batch size when their pool closed

    def prepare(self, adapter: Adapter, opts: Options, emit: Emit, stored_dim: int | None) -> dict:
        """Load the model here (and on every GPU's worker); returns the device facts the model row records."""
        from .devices import device_info, parse_gpus, pick_device

        try:
            devices = parse_gpus(opts.gpus)
            device = pick_device(devices[0] if len(devices) == 1 else opts.device, adapter.needs_torch)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        adapter.precision = opts.precision
        self.pool_batch = None
        if len(devices) > 1:
            return self._start_pool(adapter, opts, emit, devices)
        emit(LoadEvent(adapter.name, adapter.location.describe(), device))
        adapter.load(device)
        attach(adapter)
        return device_info(device) | {"source": adapter.location.describe()}

    def _start_pool(self, adapter: Adapter, opts: Options, emit: Emit, devices: list[str]) -> dict:
        """One worker per GPU, and the model here on the cpu: decoding needs it (text windows, audio
        features)."""
        from .devices import pick_device

        emit(LoadEvent(adapter.name, adapter.location.describe(), ",".join(devices)))
        settings = WorkerSettings(
            adapter.spec, adapter.location, opts.batch_size, opts.trust_remote_code, opts.precision
        )
        self.pool = DevicePool(settings, devices)
        self.pool.start()
        adapter.load(pick_device("cpu", adapter.needs_torch))
        adapter.sizer = BatchSizer(self.pool.batch_size)  # sizes the units each worker is handed
        return {"device": ",".join(devices), "source": adapter.location.describe()}

    def batch_size(self, adapter: Adapter) -> int:
        """The batch size in use (the largest of the workers' with --gpus)."""
        if self.pool is not None:
            return self.pool.batch_size
        return self.pool_batch or adapter.batch_size()

    def batches(
        self, adapter: Adapter, root: Path, todo: list[FileRow], opts: Options
    ) -> Generator[list[FileResult[FileRow]], None, None]:
        """Per-file results, one commit's worth at a time."""
        units = self._units(adapter, root, todo, opts)
        if self.pool is None:
            for pending, errors in units:
                yield (embed_decoded(adapter, pending) if pending else []) + errors
            return
        try:
            yield from self.pool.run(units)
        finally:
            self.close()

    def _units(self, adapter: Adapter, root: Path, todo: list[FileRow], opts: Options) -> Iterator[Unit]:
        """One commit's worth of decoded files (and those that failed to decode) at a time."""
        pending: list[tuple[FileRow, Decoded]] = []
        errors: list[FileResult[FileRow]] = []
        parts = 0
        workers = opts.workers
        if workers is None and self.pool is not None:  # the model here is on the cpu but idle: GPU-sized pool
            workers = default_workers("cuda")
        beat = self.beat
        hand = (lambda at: beat.hand(adapter.name, todo[at].path)) if beat else (lambda at: None)
        if todo:
            hand(0)
        for i, item in enumerate(decoded(adapter, root, todo, workers)):
            if isinstance(item, FailedFile):
                errors.append(item)
            else:
                pending.append(item)
                parts += len(item[1].parts)
            # Four batches a commit at the batch size of now (the workers' with --gpus), so that a batch
            # grown past FILES_PER_COMMIT still gets full batches to time.
            size = self.batch_size(adapter)
            if parts >= size * 4 or len(pending) + len(errors) >= max(FILES_PER_COMMIT, size * 4):
                hand(i)  # the batch that ends with this file is embedded now
                yield pending, errors
                pending, errors, parts = [], [], 0
            if i + 1 < len(todo):
                hand(i + 1)
        if pending or errors:
            hand(len(todo) - 1)
            yield pending, errors

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool_batch, self.pool = self.pool.batch_size, None
