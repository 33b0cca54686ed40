"""Per-window losses of a model on a person's data, as the model was trained: the person's AU sequence through
the model's own normaliser, cut into the training windows (``seq_len``, ``stride``), each window's loss on its
own (``mse``: the mean squared error over its frames and both dimensions; ``ccc_window``, and the batch
``ccc`` loss, which has no per-window value: 1 - CCC over the window's own frames, per dimension, averaged)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from privbench.data.windows import Normalizer, Sequence, WindowDataset
from privbench.evaluate.metrics import ccc_window_loss
from privbench.settings import WindowSettings

BATCH = 256  # windows per forward pass (inference only)


def per_window(loss: str, predicted: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[B, T, 2] predictions and labels -> B window losses."""
    if loss == "mse":
        return ((predicted - labels) ** 2).mean(dim=(1, 2))
    one = torch.func.vmap(lambda p, y: ccc_window_loss(p[None], y[None]))
    return one(predicted, labels)


@torch.no_grad()
def window_losses(model: nn.Module, normalizer: Normalizer, windows: WindowSettings, loss: str,
                  sequence: Sequence) -> np.ndarray:
    """The loss of each training window of ``sequence`` under ``model`` (float64, finite)."""
    data = WindowDataset([normalizer(sequence)], windows.seq_len, windows.stride)
    model.eval()
    values = []
    for start in range(0, len(data), BATCH):
        inputs, labels = zip(*(data[i] for i in range(start, min(start + BATCH, len(data)))))
        values.append(per_window(loss, model(torch.stack(inputs)), torch.stack(labels)))
    result = torch.cat(values).double().numpy()
    if not np.isfinite(result).all():
        raise ValueError(f"{sequence.participant}: non-finite window losses")
    return result


def losses_of(model: nn.Module, normalizer: Normalizer, windows: WindowSettings, loss: str,
              sequences: dict[str, Sequence]) -> dict[str, np.ndarray]:
    """``window_losses`` of every person."""
    return {pid: window_losses(model, normalizer, windows, loss, seq) for pid, seq in sequences.items()}
