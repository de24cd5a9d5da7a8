"""Decode → embed as a Ray Data pipeline, for folders too big for one machine (`--engine ray`).

Scan, plan and commit stay on the driver exactly as in local indexing: Ray only turns stale files into
per-file results (`stages.embed_decoded`, as in local indexing), which the driver writes with
`Store.commit_batch` batch by batch, so crash safety and incremental behaviour are the local ones.
Decoding runs in CPU tasks when the adapter decodes without its model (`decode_in_workers`), else inside
the model actors (text: the tokenizer cuts windows). Model actors: one per GPU, or one per node on a
CPU-only cluster. Every node must see the folder at the same path (a shared file system) and have
vexplore installed with its model weights, as the driver does.

Ray moves Python objects between processes by pickling; decoded parts and results cross as pickled
blobs in Arrow binary columns so Ray Data never tries to reinterpret them. Nothing pickled is stored.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import pickle
import signal
import socket
import threading
import warnings
from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .batching import attach
from .catalog import FileRow
from .errors import UserError
from .events import LoadEvent
from .extras import require
from .loader import decode_one
from .models.base import Adapter, Decoded
from .results import EmbeddedFile, FailedFile, FileResult
from .stages import Emit, Options, embed_decoded

FILES_PER_CALL = 64  # files per model actor call; each call becomes one commit on the driver
FILES_PER_DECODE = 16  # files per CPU decode task
FATAL = -1  # the file index of a row that reports an actor that cannot work (model failed to load)
_FORWARDED_ENV = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HOME",
    "HF_HUB_DISABLE_TELEMETRY",
    "TOKENIZERS_PARALLELISM",
)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _file(raw: bytes, modality: str) -> FileRow:
    """Just enough of a catalog row for decode_one (it reads raw and modality)."""
    return FileRow(-1, "", raw, modality, 0, 0, None, {})


def _table(ids: list[int], payloads: list[Any]):
    import pyarrow as pa

    blobs = [pickle.dumps(p, protocol=pickle.HIGHEST_PROTOCOL) for p in payloads]
    return pa.table({"i": pa.array(ids, pa.int64()), "blob": pa.array(blobs, pa.large_binary())})


def _decode_batch(batch, adapter: Adapter, root: str):
    """CPU stage: files → pickled Decoded (or FailedFile: why a file cannot be decoded)."""
    files = zip(batch.column("raw").to_pylist(), batch.column("modality").to_pylist(), strict=False)
    return _table(batch.column("i").to_pylist(), [decode_one(adapter, Path(root), _file(*f)) for f in files])


class _Embedder:
    """A model actor: loads the adapter once, then embeds batches of decoded (or raw) files."""

    def __init__(self, adapter: Adapter, device: str, threads: int, root: str, decode_here: bool):
        from .devices import pick_device

        self.adapter, self.root, self.decode_here = adapter, Path(root), decode_here
        self.fatal: str | None = None
        expected = adapter.dim
        try:
            device = pick_device(device)
            if device == "cpu":
                import torch

                torch.set_num_threads(threads)  # the CPUs Ray gave this actor, not the whole node
            adapter.load(device)
            attach(adapter)  # OOM back-off (and growth on a GPU) on the actor too
        except Exception as exc:  # noqa: BLE001 - reported to the driver as one line
            self.fatal = _one_line(exc)
            return
        if expected and adapter.dim != expected:
            self.fatal = (
                f"model {adapter.name!r} gives vectors of dim {adapter.dim}, the store expects {expected}"
            )

    def __call__(self, batch):
        if self.fatal is not None:
            return _table([FATAL], [self.fatal])
        ids = batch.column("i").to_pylist()
        if self.decode_here:
            files = zip(batch.column("raw").to_pylist(), batch.column("modality").to_pylist(), strict=False)
            decoded = [decode_one(self.adapter, self.root, _file(*f)) for f in files]
        else:
            decoded = [pickle.loads(blob) for blob in batch.column("blob").to_pylist()]
        pending = [(i, d) for i, d in zip(ids, decoded, strict=False) if isinstance(d, Decoded)]
        results = embed_decoded(self.adapter, pending) if pending else []
        results += [
            FailedFile(i, d.reason) for i, d in zip(ids, decoded, strict=False) if isinstance(d, FailedFile)
        ]
        return _table([r.file for r in results], results)


def _probe(adapter: Adapter, device: str) -> tuple[int | None, str | None]:
    """Load the model once on a worker to learn its dim (a model the registry knows no dim for)."""
    from .devices import pick_device

    try:
        adapter.load(pick_device(device))
        return adapter.dim, None
    except Exception as exc:  # noqa: BLE001 - reported to the driver as one line
        return None, _one_line(exc)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a host:port nothing listens on: ray.init would wait for minutes, deaf to Ctrl-C."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "local" and the like: Ray resolves them quickly itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise UserError(f"cannot reach Ray at {address}: {exc.strerror or exc}") from None


def _root_cause(exc: BaseException) -> str:
    """The most specific message of a Ray error chain, as one line: Ray wraps errors in layers, some
    empty, and a task error's text is a "ray::..." header, a traceback, then "Error: message" last."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__
    for err in reversed(chain):
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        if lines:
            return (lines[-1] if lines[0].startswith("ray::") else lines[0])[:300]
    return type(exc).__name__


class RayStages:
    """The decode → embed stages on a Ray cluster (or a local Ray started for this run)."""

    def __init__(self, address: str | None = None):
        self.address = address
        self.started = False
        self.plan: dict | None = None

    # ---- connection ----------------------------------------------------------------------------
    def _connect(self):
        require("ray.data", "ray", "--engine ray")
        import ray
        import ray.data

        if not ray.is_initialized():
            env = {k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ}
            kwargs: dict[str, Any] = {
                "log_to_driver": False,
                "logging_level": logging.ERROR,
                "runtime_env": {"env_vars": env} if env else None,
            }
            address = self.address or os.environ.get("RAY_ADDRESS")
            if address:
                _check_reachable(address)
            else:
                kwargs["include_dashboard"] = False  # only a Ray we start ourselves takes this
            on_term = signal.getsignal(signal.SIGTERM)
            try:
                ray.init(address=self.address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UserError(
                    f"cannot start or reach Ray ({address or 'a local Ray'}): {_root_cause(exc)}"
                ) from exc
            finally:
                if threading.current_thread() is threading.main_thread():
                    signal.signal(
                        signal.SIGTERM, on_term
                    )  # ray.init's exit-on-SIGTERM would skip the summary
            self.started = True
        ctx = ray.data.DataContext.get_current()
        # Progress goes through vexplore's own events; Ray's bars and banners would corrupt --json stderr.
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        ctx.enable_auto_log_stats = False
        logging.getLogger("ray").setLevel(logging.ERROR)
        logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # its failures reach the user as UserError
        return ray

    def _resources(self, ray, requested: str, decode_tasks: bool) -> dict:
        """Model actors: one per GPU when the cluster has GPUs (and the device allows), else one per node
        with all its CPUs, or half of them when CPU tasks decode beside it."""
        gpus = int(ray.cluster_resources().get("GPU", 0))
        wants_gpu = requested == "auto" or requested.startswith("cuda")
        if requested.startswith("cuda") and gpus == 0:
            raise UserError(f"--device {requested}: the Ray cluster has no GPUs")
        if gpus and wants_gpu:
            return {"actors": gpus, "num_gpus": 1, "num_cpus": 1, "device": "cuda"}
        nodes = [n for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
        if not nodes:
            raise UserError("the Ray cluster has no live node with a CPU")
        cpus = int(min(n["Resources"]["CPU"] for n in nodes))
        per_node = max(1, cpus // 2) if decode_tasks else cpus
        return {
            "actors": len(nodes),
            "num_gpus": 0,
            "num_cpus": per_node,
            "device": "cpu" if requested == "auto" else requested,
        }

    # ---- the Stages protocol -------------------------------------------------------------------
    def prepare(self, adapter: Adapter, opts: Options, emit: Emit, stored_dim: int | None) -> dict:
        """Join Ray and size the actor pool; the driver never loads the model. Returns the model row info."""
        ray = self._connect()
        self.plan = plan = self._resources(ray, opts.device, adapter.decode_in_workers)
        device = f"ray:{plan['actors']}x{plan['device']}"
        emit(LoadEvent(adapter.name, adapter.location.describe(), device))
        if stored_dim:
            adapter.dim = stored_dim
        elif not adapter.dim:
            probe = ray.remote(num_cpus=plan["num_cpus"], num_gpus=plan["num_gpus"])(_probe)
            dim, error = ray.get(probe.remote(adapter, plan["device"]))
            if error is not None:
                raise UserError(error)
            adapter.dim = dim
        return {
            "device": device,
            "engine": "ray",
            "actors": plan["actors"],
            "actor_device": plan["device"],
            "ray": ray.get_runtime_context().gcs_address,
            "source": adapter.location.describe(),
        }

    def batches(
        self, adapter: Adapter, root: Path, todo: list[FileRow], opts: Options
    ) -> Generator[list[FileResult[FileRow]], None, None]:
        """Per-file results as the actors finish them (not in todo order); one list per actor call."""
        if not todo:
            return
        import ray.data

        plan = self.plan or self._resources(self._connect(), opts.device, adapter.decode_in_workers)
        rows = [{"i": k, "raw": f.raw, "modality": f.modality} for k, f in enumerate(todo)]
        ds: ray.data.Dataset = ray.data.from_items(
            rows, override_num_blocks=max(1, math.ceil(len(rows) / FILES_PER_DECODE))
        )
        decode_here = not adapter.decode_in_workers
        if not decode_here:
            decode_opts: dict[str, Any] = {"concurrency": opts.workers} if opts.workers else {}
            ds = ds.map_batches(
                functools.partial(_decode_batch, adapter=adapter, root=str(root)),
                batch_size=FILES_PER_DECODE,
                batch_format="pyarrow",
                num_cpus=1,
                **decode_opts,
            )
        threads = max(1, int(plan["num_cpus"]))
        # Ray Data restarts dead actors and retries their batches forever by default: a file that kills
        # the model process would loop. On a Ray of our own (one machine) restarts buy nothing (and
        # turning them off spares stderr a C++ warning); on a cluster a few ride out a lost node.
        # Ray only takes these settings the deprecated way.
        restarts: dict[str, Any] = (
            {"max_restarts": 0} if self.started else {"max_restarts": 3, "max_task_retries": 3}
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ds = ds.map_batches(
                _Embedder,
                fn_constructor_args=(adapter, plan["device"], threads, str(root), decode_here),
                batch_size=FILES_PER_CALL,
                batch_format="pyarrow",
                num_cpus=plan["num_cpus"],
                num_gpus=plan["num_gpus"],
                **restarts,
                # starts with the first actor that gets its GPU/CPUs, grows as others free up
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=plan["actors"]),
            )
        stream = iter(ds.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=1))
        try:
            while True:
                try:
                    table = next(stream)
                except StopIteration:
                    return
                except Exception as exc:  # a failed cluster job is one line, not a traceback
                    raise UserError(f"the Ray pipeline failed: {_root_cause(exc)}") from exc
                yield self._results(table, todo, adapter.dim)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()  # stops the streaming executor when the run is interrupted

    @staticmethod
    def _results(table, todo: list[FileRow], dim: int) -> list[FileResult[FileRow]]:
        """The actors' results keyed by catalog row again (a worker names a file by its place in todo)."""
        results: list[FileResult[FileRow]] = []
        for i, blob in zip(table.column("i").to_pylist(), table.column("blob").to_pylist(), strict=False):
            payload = pickle.loads(blob)
            if i == FATAL:
                raise UserError(payload)
            if isinstance(payload, EmbeddedFile) and np.shape(payload.vector) != (dim,):
                raise UserError(
                    f"a Ray worker returned vectors of shape {np.shape(payload.vector)}, "
                    f"the store expects ({dim},)"
                )
            results.append(replace(payload, file=todo[i]))
        return results

    def close(self) -> None:
        if self.started:
            import ray

            ray.shutdown()
            self.started = False
