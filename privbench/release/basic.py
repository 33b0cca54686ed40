"""The transforms without a model: raw, intensities, zscore, noise, coarsen, quantise."""

from __future__ import annotations

import numpy as np

from privbench.data.layout import AU_INTENSITY
from privbench.errors import InputError
from privbench.release.series import Context, Release, Transform, frames_of, participant_rng, ranges, replace_series
from privbench.release.settings import ReleaseSettings


def _raw(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    return base


def _intensities(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    keep = [i for i, c in enumerate(base.columns) if c in AU_INTENSITY]
    if not keep:
        raise InputError(f"{context.dataset.root / 'manifest.json'}: no AU intensity columns to release")
    columns = tuple(base.columns[i] for i in keep)
    return replace_series(base, "intensities", {p: np.ascontiguousarray(v[:, keep]) for p, v in base.series.items()},
                          columns=columns, centre=base.centre[keep], scale=base.scale[keep])


def zscore(values: np.ndarray) -> np.ndarray:
    """Every column of one participant's series to mean 0 and standard deviation 1 (a constant column to 0)."""
    std = values.std(0)
    return ((values - values.mean(0)) / np.where(std > 1e-6, std, 1.0)).astype(np.float32)


def _zscore(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    width = len(base.columns)
    return replace_series(base, "zscore", {p: zscore(v) for p, v in base.series.items()},
                          centre=np.zeros(width, np.float32), scale=np.ones(width, np.float32))


def _noise(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    """x + N(0, var / snr), var each column's variance over the whole data set: the same noise level for
    everyone (a level set by each person's own variance is itself a fingerprint: on data without identity
    signal it let reid find 7 of 20 people, chance 1 in 20)."""
    snr = settings.noise.snr
    pooled = np.concatenate(list(base.series.values())).astype(np.float64)
    sd = pooled.std(0) / np.sqrt(snr)
    series = {}
    for pid, values in base.series.items():
        noise = participant_rng(settings, pid, "noise").standard_normal(values.shape) * sd
        series[pid] = (values + noise).astype(np.float32)
    return replace_series(base, "noise", series, notes={"release": f"Gaussian noise at SNR {snr:g} (variance ratio to "
                                                                   "each column's variance over the data set)"})


def block_means(values: np.ndarray, frames: int) -> np.ndarray:
    """Each block of ``frames`` frames (the last one may be shorter) replaced by its mean, held over its
    frames: the series keeps its length and frame rate."""
    starts = np.arange(0, len(values), frames)
    sums = np.add.reduceat(values.astype(np.float64), starts, axis=0)
    lengths = np.diff(np.append(starts, len(values)))
    return np.repeat(sums / lengths[:, None], lengths, axis=0).astype(np.float32)


def _coarsen(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    shortest = min(len(v) for v in base.series.values())
    frames = frames_of(settings.coarsen.seconds, base.fps, "coarsen.seconds", shortest)
    return replace_series(base, "coarsen", {p: block_means(v, frames) for p, v in base.series.items()},
                          notes={"release": f"means over blocks of {frames} frames"})


def _quantise(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    """Intensity columns (a continuous declared range) clipped and rounded to ``levels`` evenly spaced values;
    presences (binary) are already two-level and stay as they are."""
    levels = settings.quantise.levels
    low, high = ranges(context.dataset, base.columns)
    continuous = np.array([not context.dataset.manifest.au_range(c).binary for c in base.columns])
    step = (high - low) / (levels - 1)
    series = {}
    for pid, values in base.series.items():
        rounded = low + np.round((np.clip(values, low, high) - low) / step) * step
        series[pid] = np.where(continuous, rounded, values).astype(np.float32)
    return replace_series(base, "quantise", series, notes={"release": f"intensities rounded to {levels} levels"})


RAW = Transform(_raw)
INTENSITIES = Transform(_intensities)
ZSCORE = Transform(_zscore)
NOISE = Transform(_noise)
COARSEN = Transform(_coarsen)
QUANTISE = Transform(_quantise)
