"""Gold standards fused from several raters, and annotation-delay compensation.

``mean`` (the paper): the frame-wise mean of the raters.

``ewe`` (AVEC 2016's rater-weighted gold standard), per recording and dimension, for raters
r = 1..R with ratings y_r(t) and means m_r:

    c_rs  = CCC(y_r, y_s)                                (population moments, privbench.ccc)
    w'_r  = max(0, mean over s != r of c_rs)             (agreement with the other raters)
    w_r   = w'_r / sum_s w'_s                            (1/R each if every w'_r is 0)
    gold(t) = mean_r (y_r(t) - m_r) + sum_r w_r m_r      (clipped to [-1, 1])

i.e. each rater's mean is removed, the rater means are added back weighted by each rater's
agreement, then the rater values are averaged. With a single rater both are that rater.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from privbench.stats import ccc_numpy
from privbench.registry import Registry

Fusion = Callable[[np.ndarray], np.ndarray]
GOLD: Registry[Fusion] = Registry("gold standard")


@GOLD.register("mean")
def mean_gold(ratings: np.ndarray) -> np.ndarray:
    """[T, R] rater values -> [T] frame-wise mean."""
    return ratings.mean(axis=1)


def ewe_weights(ratings: np.ndarray) -> np.ndarray:
    """[T, R] rater values -> [R] weights: each rater's mean CCC with the others, clipped at 0, summing to 1."""
    raters = ratings.shape[1]
    if raters == 1:
        return np.ones(1)
    agreement = np.array([
        np.mean([ccc_numpy(ratings[:, r], ratings[:, s]) for s in range(raters) if s != r]) for r in range(raters)
    ])
    weights = np.clip(agreement, 0, None)
    return weights / weights.sum() if weights.sum() > 0 else np.full(raters, 1 / raters)


@GOLD.register("ewe")
def ewe_gold(ratings: np.ndarray) -> np.ndarray:
    """[T, R] rater values -> [T] AVEC-style rater-weighted gold standard (module docstring)."""
    means = ratings.mean(axis=0)
    centred = (ratings - means).mean(axis=1)
    return np.clip(centred + ewe_weights(ratings) @ means, -1, 1)


def compensate_delay(values: np.ndarray, rows: int) -> np.ndarray:
    """Shift labels ``rows`` frames earlier (label at t := rating at t + delay), repeating the last
    value at the end: raters react late, so this lines the ratings up with the face."""
    if rows <= 0:
        return values
    shifted = np.empty_like(values)
    kept = max(len(values) - rows, 0)
    shifted[:kept] = values[rows:rows + kept]
    shifted[kept:] = values[-1]
    return shifted
