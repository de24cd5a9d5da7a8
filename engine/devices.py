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
        raise ValueError("--device cuda asked for, but torch sees no CUDA GPU")
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
