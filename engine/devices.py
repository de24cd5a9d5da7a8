"""Choosing where models run. torch is imported only when a model is about to load."""

from __future__ import annotations

import os


def pick_device(requested: str = "auto", needs_torch: bool = True) -> str:
    """The device a model runs on; one that does not need torch (numpy only) runs on the cpu, and the
    run then never imports torch."""
    if requested not in ("auto", "cpu", "cuda", "mps") and not requested.startswith("cuda:"):
        raise ValueError(f"unknown device {requested!r}: use auto, cpu, cuda or mps")
    if not needs_torch:
        return "cpu"
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(no_cuda_reason(torch.__version__, torch.version.cuda))
    if requested == "cpu":
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    return requested


def device_info(device: str) -> dict:
    """What the progress panel shows about the device (GPU memory on CUDA)."""
    if not device.startswith("cuda"):
        return {"device": device}
    import torch

    free, total = torch.cuda.mem_get_info()
    return {
        "device": device,
        "gpu": torch.cuda.get_device_name(),
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
