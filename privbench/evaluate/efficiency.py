"""Efficiency measurements: parameters, serialised size, inference time, peak memory."""

from __future__ import annotations

import io
import resource
import statistics
import sys
import time
from typing import Callable

import torch
from torch import nn


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_size_mb(model: nn.Module) -> float:
    """Size of the serialised state dict (what ``torch.save`` writes), in MB (10^6 bytes)."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell() / 1e6


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (10^6 bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


@torch.no_grad()
def inference_seconds(
    model: nn.Module,
    make_input: Callable[[int], torch.Tensor],
    frames: int,
    device: torch.device,
    repeats: int = 5,
    warmup: int = 2,
) -> float:
    """Median wall time of one forward pass over ``frames`` frames, after warm-up passes."""
    model.eval()
    inputs = make_input(frames).to(device)
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        model(inputs)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)
