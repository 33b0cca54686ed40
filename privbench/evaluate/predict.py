"""Per-frame predictions for a whole sequence from overlapping windows (overlaps averaged)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from privbench.data.windows import window_starts


@torch.no_grad()
def predict_sequence(
    model: nn.Module, fetch: Callable[[int, int], torch.Tensor], *, length: int, window: int, batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """[length, outputs] predictions; ``fetch(start, stop)`` returns the model input for that span.

    Windows step by half their length and predictions of overlapping windows are averaged, so
    every frame is predicted with context on both sides except at the sequence ends.
    """
    model.eval()
    window = min(window, length)
    starts = window_starts(length, window, max(1, window // 2))
    sums: np.ndarray | None = None
    counts = np.zeros((length, 1))
    for i in range(0, len(starts), batch_size):
        chunk = starts[i : i + batch_size]
        inputs = torch.stack([fetch(int(s), int(s) + window) for s in chunk]).to(device)
        outputs = model(inputs).float().cpu().numpy()
        if sums is None:
            sums = np.zeros((length, outputs.shape[-1]))
        for s, out in zip(chunk, outputs):
            sums[s : s + window] += out
            counts[s : s + window] += 1
    return (sums / counts).astype(np.float32)
