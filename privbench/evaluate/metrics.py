"""Agreement metrics for continuous affect: CCC (population convention), PCC, RMSE.

Functional forms take array-likes (NumPy, torch, lists) of shape [N] and return a float, or of
shape [N, D] and return one value per column. ``ConcordanceCorrelation`` accumulates batches and
equals ``ccc`` on their concatenation; ``ccc_loss`` is the differentiable torch twin.

CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2), with population (divide-by-N)
moments throughout, as audmetric and end2you; AVEC's scripts mix N and N-1. A constant
prediction has CCC 0; if both inputs are constant and equal, CCC is 1. Non-finite inputs (NaN,
inf) raise ``ValueError``: a diverged model has no score, least of all a perfect one.
"""

from __future__ import annotations

import numpy as np
import torch

from privbench.errors import DivergedError


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
    x, y = _pair(y_true, y_pred)
    mx, my = x.mean(0), y.mean(0)
    cov = ((x - mx) * (y - my)).mean(0)
    denom = x.var(0) + y.var(0) + (mx - my) ** 2
    safe = np.where(denom > 0, denom, 1.0)
    return _scalar_or_array(np.where(denom > 0, 2 * cov / safe, 1.0))


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
    """Streaming CCC: ``update`` with batches, ``compute`` gives ``ccc`` of all of them together."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self._sums: np.ndarray | None = None  # sum x, sum y, sum x^2, sum y^2, sum xy

    def update(self, y_true, y_pred) -> None:
        x, y = _pair(y_true, y_pred)
        sums = np.stack([x.sum(0), y.sum(0), (x * x).sum(0), (y * y).sum(0), (x * y).sum(0)])
        self._sums = sums if self._sums is None else self._sums + sums
        self._n += len(x)

    def compute(self) -> float | np.ndarray:
        if self._sums is None:
            raise ValueError("ConcordanceCorrelation.compute() before any update()")
        sx, sy, sxx, syy, sxy = self._sums / self._n
        var_x, var_y, cov = sxx - sx**2, syy - sy**2, sxy - sx * sy
        denom = var_x + var_y + (sx - sy) ** 2
        return _scalar_or_array(np.where(denom > 0, 2 * cov / np.where(denom > 0, denom, 1.0), 1.0))


def ccc_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """1 - CCC, averaged over the last dimension; inputs [..., D] are flattened over the rest."""
    x = y_true.reshape(-1, y_true.shape[-1])
    y = y_pred.reshape(-1, y_pred.shape[-1])
    mx, my = x.mean(0), y.mean(0)
    cov = ((x - mx) * (y - my)).mean(0)
    denom = x.var(0, unbiased=False) + y.var(0, unbiased=False) + (mx - my) ** 2
    return (1 - 2 * cov / (denom + 1e-8)).mean()
