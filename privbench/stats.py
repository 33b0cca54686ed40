"""The one copy of the concordance correlation coefficient's formula, below every layer that uses it
(metrics, losses, the gold-standard fusion of importers).

CCC = 2 cov(x, y) / (var(x) + var(y) + (mean(x) - mean(y))^2), population (divide-by-N) moments.
When both inputs are constant and equal the formula is 0/0; privbench defines CCC = 1 there
(perfect agreement), in the metric and in the loss alike. Works on NumPy arrays and torch tensors.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

Array = TypeVar("Array")


def ccc_from_moments(mean_x: Array, mean_y: Array, var_x: Array, var_y: Array, cov: Array, eps: float = 0.0) -> Array:
    """CCC from population moments (NumPy or torch, any shape); ``eps`` is added to the denominator
    (the training loss uses 1e-8 for a finite gradient on near-constant batches)."""
    denominator = var_x + var_y + (mean_x - mean_y) ** 2
    degenerate = denominator <= 0  # then var_x = var_y = cov = 0 and mean_x = mean_y: perfect agreement
    return (2 * cov + degenerate) / (denominator + eps + degenerate)


def ccc_numpy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CCC of float arrays [N] or [N, D] along the first axis (finite inputs; checked by callers)."""
    mean_x, mean_y = x.mean(0), y.mean(0)
    cov = ((x - mean_x) * (y - mean_y)).mean(0)
    return ccc_from_moments(mean_x, mean_y, x.var(0), y.var(0), cov)
