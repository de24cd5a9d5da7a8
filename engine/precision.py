"""Mixed precision on the device. Every torch family runs its forward pass under `autocast`: bf16 on a
GPU that has it (fp16 on older ones), full float32 on the cpu unless asked; weights stay float32 and
the vectors handed back are float32 whatever ran inside."""

from __future__ import annotations

import contextlib
from typing import Any

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def autocast_dtype(device: str, precision: str = "auto") -> Any:
    """The torch dtype autocast computes in on this device (None: plain float32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: use {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return None
    import torch

    if precision == "auto":
        if not device.startswith("cuda"):
            return None  # the cpu gains little and mps autocast is not on every torch we support
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if precision == "bf16" else torch.float16


def autocast(device: str, precision: str = "auto") -> contextlib.AbstractContextManager:
    """The autocast context for a forward pass on device (a no-op for float32)."""
    dtype = autocast_dtype(device, precision)
    if dtype is None:
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device.split(":")[0], dtype=dtype)
