"""`vexplore index`: embed new and changed files and bring the index up to date; Ctrl-C, SIGTERM or a
dropped terminal stop it after the current batch, with everything committed kept."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click

from vexplore.engine.precision import PRECISIONS

from .exits import detach_output, fail, finished, guarded
from .options import gpus_option, store_option


@click.command()
@click.argument("path", type=click.Path())
@click.option(
    "--model", "models", multiple=True, help="Model alias, HF id, local path or hub: spec (repeatable)."
)
@store_option
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@gpus_option
@click.option(
    "--precision",
    type=click.Choice(PRECISIONS),
    default="auto",
    show_default=True,
    help="Autocast dtype: auto is bf16 on a GPU that has it (fp16 otherwise), fp32 elsewhere.",
)
@click.option("--batch-size", type=click.IntRange(1, 65536), default=None, help="Parts per model call.")
@click.option(
    "--workers", type=click.IntRange(0, 64), default=None, help="Decoder processes (default: cores-1)."
)
@click.option("--trust-remote-code", is_flag=True, help="Allow model repos to run their own Python code.")
@click.option(
    "--json", "as_json", is_flag=True, help="Progress as JSON lines on stderr, summary as JSON on stdout."
)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="Where decoding and embedding run: this machine, or Ray Data (pip install 'vexplore[ray]').",
)
@click.option(
    "--ray-address",
    default=None,
    help="Ray cluster to join with --engine ray (default: RAY_ADDRESS, else a Ray started on this machine).",
)
@click.option(
    "--wait", is_flag=True, help="If another `vexplore index` is writing the store, wait for it, then run."
)
def index(
    path,
    models,
    store,
    device,
    gpus,
    precision,
    batch_size,
    workers,
    trust_remote_code,
    as_json,
    engine,
    ray_address,
    wait,
) -> None:
    """Embed new and changed files of PATH and bring the index up to date."""
    from vexplore.engine.pipeline import Options, index_folder
    from vexplore.engine.progress import JsonReporter, RichReporter
    from vexplore.engine.store import find_store_dir

    root = Path(path)
    if not root.is_dir():
        from vexplore.engine.sources.detect import is_source

        if is_source(path):
            fail(f"{path}: a vectors source, not a folder of files: `vexplore import {path}` imports it")
        fail(f"{path}: not a folder" if root.exists() else f"{path}: no such folder")
    if ray_address and engine != "ray":
        fail("--ray-address needs --engine ray")
    if gpus and engine != "local":
        fail("--gpus is for the local engine; Ray places its own GPU workers")
    stop = threading.Event()

    def on_signal(signum, frame):
        if signum == getattr(signal, "SIGHUP", None):
            detach_output()  # the terminal is gone (a dropped SSH session): finish the batch in silence
        elif stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, on_signal)
    opts = Options(
        list(models),
        device,
        batch_size,
        workers,
        trust_remote_code,
        engine=engine,
        ray_address=ray_address,
        wait=wait,
        gpus=gpus,
        precision=precision,
    )
    reporter: JsonReporter | RichReporter = JsonReporter() if as_json else RichReporter()
    with reporter:
        summary = guarded(
            index_folder, root, find_store_dir(root, store, create=True), opts, reporter.emit, stop
        )
    reporter.summary(summary)
    finished["quick_exit"] = engine == "local"
