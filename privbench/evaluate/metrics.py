"""Agreement metrics for continuous affect: CCC (population convention), PCC, RMSE.

Functional forms take array-likes (NumPy, torch, lists) of shape [N] and return a float, or of
shape [N, D] and return one value per column. ``ConcordanceCorrelation`` accumulates batches and
equals ``ccc`` on their concatenation; ``ccc_loss`` (pooled over the batch) and ``ccc_window_loss``
(per window, for per-sample gradients) are the differentiable torch twins. All of them use the
one formula in ``privbench.stats``.

CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2), with population (divide-by-N)
moments throughout, as audmetric and end2you; AVEC's scripts mix N and N-1. A constant
prediction has CCC 0; if both inputs are constant and equal, CCC is 1 (and the losses 0). Non-finite inputs (NaN,
inf) raise ``ValueError``: a diverged model has no score, least of all a perfect one.
"""

from __future__ import annotations

import numpy as np
import torch

from privbench.errors import DivergedError
from privbench.stats import ccc_from_moments, ccc_numpy

LOSS_EPS = 1e-8  # added to the loss's denominator: a finite gradient on near-constant batches


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(y_true.detach().cpu() if torch.is_tensor(y_true) else y_true, dtype=np.float64)
    y = np.asarray(y_pred.detach().cpu() if torch.is_tensor(y_pred) else y_pred, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {x.shape} vs {y.shape}")
    if x.ndim not in (1, 2) or len(x) == 0:
        raise ValueError(f"expected non-empty [N] or [N, D] arrays, got shape {x.shape}")
    for name, values in (("y_true", x), ("y_pred", y)):
        if not np.isfinite(values).all():
            count = int((~np.isfinite(values)).sum())
            raise ValueError(f"{name} holds {count} non-finite value(s); no score is defined")
    return x, y


def _scalar_or_array(values: np.ndarray):
    return float(values) if values.ndim == 0 else values


def ccc(y_true, y_pred) -> float | np.ndarray:
    """Concordance correlation coefficient, population (divide-by-N) moments."""
    return _scalar_or_array(ccc_numpy(*_pair(y_true, y_pred)))


def pcc(y_true, y_pred) -> float | np.ndarray:
    """Pearson correlation; 0 when either input is constant."""
    x, y = _pair(y_true, y_pred)
    sx, sy = x.std(0), y.std(0)
    cov = ((x - x.mean(0)) * (y - y.mean(0))).mean(0)
    ok = (sx > 0) & (sy > 0)
    return _scalar_or_array(np.where(ok, cov / np.where(ok, sx * sy, 1.0), 0.0))


def rmse(y_true, y_pred) -> float | np.ndarray:
    """Root mean squared error."""
    x, y = _pair(y_true, y_pred)
    return _scalar_or_array(np.sqrt(((x - y) ** 2).mean(0)))


def mean_ccc(labels: list[np.ndarray], predictions: list[np.ndarray]) -> float:
    """Mean over the columns (valence, arousal) of the CCC on the concatenated sequences (the
    validation score); non-finite predictions mean training diverged."""
    predicted = np.concatenate(predictions)
    if not np.isfinite(predicted).all():
        raise DivergedError("training diverged: non-finite predictions on the validation participants")
    return float(np.mean(ccc(np.concatenate(labels), predicted)))


class ConcordanceCorrelation:
    """Streaming CCC: ``update`` with batches, ``compute`` gives ``ccc`` of all of them together.

    Keeps the count, means and centred sums of squares and products, merged batch by batch (Chan
    et al.'s parallel update), so constant inputs give exactly zero variance as in ``ccc``.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self._state: np.ndarray | None = None  # mean x, mean y, centred sums xx, yy, xy

    def update(self, y_true, y_pred) -> None:
        x, y = _pair(y_true, y_pred)
        mx, my = x.mean(0), y.mean(0)
        dx, dy = x - mx, y - my
        batch = np.stack([mx, my, (dx * dx).sum(0), (dy * dy).sum(0), (dx * dy).sum(0)])
        self._state = batch if self._state is None else _merge(self._state, self._n, batch, len(x))
        self._n += len(x)

    def compute(self) -> float | np.ndarray:
        if self._state is None:
            raise ValueError("ConcordanceCorrelation.compute() before any update()")
        mx, my, sxx, syy, sxy = self._state
        return _scalar_or_array(ccc_from_moments(mx, my, sxx / self._n, syy / self._n, sxy / self._n))


def _merge(a: np.ndarray, n_a: int, b: np.ndarray, n_b: int) -> np.ndarray:
    """Moments of two batches together from each batch's means and centred sums."""
    n = n_a + n_b
    delta_x, delta_y = b[0] - a[0], b[1] - a[1]
    weight = n_a * n_b / n
    return np.stack([
        a[0] + delta_x * n_b / n, a[1] + delta_y * n_b / n,
        a[2] + b[2] + delta_x**2 * weight, a[3] + b[3] + delta_y**2 * weight, a[4] + b[4] + delta_x * delta_y * weight,
    ])


def ccc_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """1 - CCC pooled over the batch, averaged over the last dimension; inputs [..., D] are
    flattened over the rest. The batch's samples are coupled: no per-sample gradient exists."""
    x = y_true.reshape(-1, y_true.shape[-1])
    y = y_pred.reshape(-1, y_pred.shape[-1])
    return (1 - _ccc_torch(x, y, dim=0)).mean()


def ccc_window_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """1 - CCC of each window over its own time steps ([B, T, D] -> B x D values), averaged: the mean
    of independent per-window losses, so per-sample gradients (DP-SGD) are defined."""
    if y_true.dim() != 3:
        raise ValueError(f"ccc_window expects [batch, time, dims] windows, got shape {list(y_true.shape)}")
    return (1 - _ccc_torch(y_true, y_pred, dim=1)).mean()


def _ccc_torch(x: torch.Tensor, y: torch.Tensor, dim: int) -> torch.Tensor:
    mean_x, mean_y = x.mean(dim, keepdim=True), y.mean(dim, keepdim=True)
    cov = ((x - mean_x) * (y - mean_y)).mean(dim)
    var_x, var_y = x.var(dim, unbiased=False), y.var(dim, unbiased=False)
    return ccc_from_moments(mean_x.squeeze(dim), mean_y.squeeze(dim), var_x, var_y, cov, eps=LOSS_EPS)
