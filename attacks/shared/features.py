"""Window statistics of released AU series: the hand-made features of the attack models.

Per column: mean, standard deviation, 10th/50th/90th percentiles; per pair of AU intensities:
their correlation within the window (co-activation); and the blink rate (AU45 presence onsets per
second) where AU45_c is released. Everything a person's habits could show in a few seconds of AUs.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (10, 50, 90)
BLINK = "AU45_c"


def windows_of(values: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Non-copying [N, length, F] view of the windows of ``values`` [T, F] (none if T < length)."""
    if len(values) < length:
        return np.empty((0, length, values.shape[1]), values.dtype)
    view = np.lib.stride_tricks.sliding_window_view(values, length, axis=0)[::stride]
    return view.transpose(0, 2, 1)


def window_features(windows: np.ndarray, columns: tuple[str, ...], fps: float) -> np.ndarray:
    """[N, D] float32 statistics of ``windows`` [N, T, F] (finite: constant columns give 0 correlation)."""
    windows = windows.astype(np.float64, copy=False)
    parts = [windows.mean(1), windows.std(1), *np.percentile(windows, QUANTILES, axis=1)]
    intensity = [i for i, c in enumerate(columns) if c.endswith("_r")]
    if len(intensity) > 1:
        parts.append(_correlations(windows[:, :, intensity]))
    if BLINK in columns:
        blinks = np.diff((windows[:, :, columns.index(BLINK)] > 0.5).astype(np.int8), axis=1).clip(0).sum(1)
        parts.append((blinks * fps / windows.shape[1])[:, None])
    return np.concatenate(parts, axis=1).astype(np.float32)


def feature_names(columns: tuple[str, ...]) -> list[str]:
    """The names of ``window_features``' columns, in order."""
    names = [f"{stat}({c})" for stat in ("mean", "std", *(f"q{q}" for q in QUANTILES)) for c in columns]
    intensity = [c for c in columns if c.endswith("_r")]
    if len(intensity) > 1:
        names += [f"corr({a},{b})" for i, a in enumerate(intensity) for b in intensity[i + 1:]]
    if BLINK in columns:
        names.append("blink_rate")
    return names


def _correlations(windows: np.ndarray) -> np.ndarray:
    """Upper-triangle Pearson correlations between the columns of each window."""
    centred = windows - windows.mean(1, keepdims=True)
    norms = np.sqrt((centred**2).sum(1))
    products = np.einsum("ntf,ntg->nfg", centred, centred)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = products / (norms[:, :, None] * norms[:, None, :])
    upper = np.triu_indices(windows.shape[2], k=1)
    return np.nan_to_num(correlation[:, upper[0], upper[1]], nan=0.0, posinf=0.0, neginf=0.0)
