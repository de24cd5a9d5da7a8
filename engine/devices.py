"""Choosing where models run. torch is imported only when a model is about to load."""

from __future__ import annotations

import os
import re

DEVICE_FORM = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
# Test hook: the devices `--gpus` picks from instead of the visible GPUs ("cpu,cpu" runs two cpu workers).
FAKE_GPUS_ENV = "VEXPLORE_FAKE_GPUS"


def check_device(requested: str) -> str:
    """The device string as given, once its form is known to be valid (auto, cpu, mps, cuda, cuda:N)."""
    if not DEVICE_FORM.match(requested):
        raise ValueError(f"unknown device {requested!r}: use auto, cpu, cuda, cuda:N or mps")
    return requested


def pick_device(requested: str = "auto", needs_torch: bool = True) -> str:
    """The device a model runs on; one that does not need torch (numpy only) runs on the cpu, and the
    run then never imports torch."""
    check_device(requested)
    if not needs_torch:
        return "cpu"
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(no_cuda_reason(torch.__version__, torch.version.cuda))
        index = int(requested.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ValueError(f"--device {requested}: torch sees {torch.cuda.device_count()} CUDA GPU(s)")
    if requested == "cpu":
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    return requested


def parse_gpus(spec: str | None) -> list[str]:
    """The devices `--gpus 0,1,…|all` names, one embedding worker each ([] when not given). The
    VEXPLORE_FAKE_GPUS test hook stands a list of devices (e.g. "cpu,cpu") in for the visible GPUs."""
    if not spec:
        return []
    fake = os.environ.get(FAKE_GPUS_ENV)
    if fake:
        visible = [check_device(d.strip()) for d in fake.split(",") if d.strip()]
    else:
        visible = [f"cuda:{i}" for i in range(_cuda_count())]
    if spec.strip() == "all":
        chosen = visible
    else:
        try:
            wanted = [int(x) for x in spec.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--gpus {spec!r}: use all or GPU numbers such as 0,1") from None
        missing = [i for i in wanted if not 0 <= i < len(visible)]
        if missing:
            raise ValueError(f"--gpus {spec}: no GPU {missing[0]} (this machine shows {len(visible)})")
        chosen = [visible[i] for i in dict.fromkeys(wanted)]
    if not chosen:
        raise ValueError(f"--gpus {spec}: no CUDA GPU visible")
    return chosen


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def device_info(device: str) -> dict:
    """What the progress panel shows about the device (GPU memory on CUDA)."""
    if not device.startswith("cuda"):
        return {"device": device}
    import torch

    free, total = torch.cuda.mem_get_info(device)
    return {
        "device": device,
        "gpu": torch.cuda.get_device_name(device),
        "gpu_mem_used_mb": (total - free) >> 20,
        "gpu_mem_total_mb": total >> 20,
    }


def no_cuda_reason(torch_version: str, cuda_version: str | None) -> str:
    """Why --device cuda cannot run: a CPU-only torch needs a CUDA build (no extra of ours can pick
    one: it comes from PyTorch's own package index); a CUDA build that sees no GPU needs a driver."""
    if cuda_version is None:
        return (
            f"--device cuda asked for, but this torch ({torch_version}) is a CPU-only build: install a CUDA "
            "build of torch (pip install torch --index-url https://download.pytorch.org/whl/cu128, or see "
            "pytorch.org/get-started) or use --device cpu"
        )
    return f"--device cuda asked for, but torch (CUDA {cuda_version}) sees no CUDA GPU: check the driver"
