"""Efficiency measurements: parameters, serialised size, inference time, peak memory."""

from __future__ import annotations

import io
import resource
import statistics
import sys
import threading
import time
from typing import Callable

import psutil
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


class PeakMemory:
    """Peak resident memory of this process *during* a block, in MB, right when several runs share
    a process (``ru_maxrss`` never goes down).

    On Linux the kernel's high-water mark is reset on entry (``/proc/self/clear_refs``) and read
    on exit (``VmHWM``); elsewhere a thread samples the resident size every ``interval`` seconds.
    Child processes (DataLoader workers, Ray actors) are not counted.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.mb = 0.0
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        if not _reset_high_water_mark():
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._sampler is None:
            self.mb = _high_water_mark_mb()
            return
        self._stop.set()
        self._sampler.join()

    def _sample(self) -> None:
        process = psutil.Process()
        while True:
            self.mb = max(self.mb, process.memory_info().rss / 1e6)
            if self._stop.wait(self.interval):
                return


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return _high_water_mark_mb() > 0
    except OSError:
        return False


def _high_water_mark_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return 0.0


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
