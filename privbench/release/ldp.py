"""``ldp``: local differential privacy on the user's side, one window at a time.

Each participant's series is cut into windows of ``ldp.window_seconds``; in each window every AU value is
clipped to its declared range and the window's per-column means are released through the Laplace or the
Gaussian mechanism at ``ldp.epsilon`` per window (held over the window's frames, so the series keeps its
frame rate). Two windows differ in each mean by at most the column's range, so the sensitivities are
Delta1 = sum of the ranges (Laplace: scale Delta1 / epsilon) and Delta2 = their Euclidean norm (Gaussian:
the analytic Gaussian mechanism's sigma at (epsilon, delta), Balle & Wang 2018).

A participant releases n windows, so the person's guarantee is their composition: Laplace n x epsilon
(basic composition of pure DP); Gaussian through zCDP, rho = n Delta2^2 / (2 sigma^2), reported as
epsilon = rho + 2 sqrt(rho ln(1/delta)) at ``ldp.delta``. Both numbers travel with the release.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import log_ndtr

from privbench.release.basic import block_means
from privbench.release.series import Context, Release, Transform, frames_of, participant_rng, ranges, replace_series
from privbench.release.settings import LDPSettings, ReleaseSettings


def laplace_scale(l1: float, epsilon: float) -> float:
    """The Laplace mechanism's scale b for L1 sensitivity ``l1`` at pure ``epsilon``."""
    return l1 / epsilon


def gaussian_delta(sigma: float, l2: float, epsilon: float) -> float:
    """The smallest delta of the Gaussian mechanism (sd ``sigma``, L2 sensitivity ``l2``) at ``epsilon``
    (Balle & Wang 2018, Theorem 8): Phi(D/2s - e s/D) - e^e Phi(-D/2s - e s/D), computed in log space."""
    a, b = l2 / (2 * sigma), epsilon * sigma / l2
    first = math.exp(log_ndtr(a - b))
    second = math.exp(min(epsilon + log_ndtr(-a - b), 700.0))
    return max(first - second, 0.0)


def gaussian_sigma(l2: float, epsilon: float, delta: float) -> float:
    """The smallest sd that makes the Gaussian mechanism (epsilon, delta)-DP (bisection to 1e-10 relative)."""
    low, high = 1e-12 * l2, l2
    while gaussian_delta(high, l2, epsilon) > delta:
        high *= 2
    while (high - low) > 1e-10 * high:
        middle = (low + high) / 2
        low, high = (low, middle) if gaussian_delta(middle, l2, epsilon) <= delta else (middle, high)
    return high


def composed_epsilon(settings: LDPSettings, windows: int, l2: float, sigma: float | None) -> float:
    """The guarantee for a participant's ``windows`` windows (module docstring)."""
    if settings.mechanism == "laplace":
        return windows * settings.epsilon
    rho = windows * l2**2 / (2 * sigma**2)
    return rho + 2 * math.sqrt(rho * math.log(1 / settings.delta))


def _ldp(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    ldp = settings.ldp
    shortest = min(len(v) for v in base.series.values())
    frames = frames_of(ldp.window_seconds, base.fps, "ldp.window_seconds", shortest)
    low, high = ranges(context.dataset, base.columns)
    width = (high - low).astype(np.float64)
    l1, l2 = float(width.sum()), float(np.sqrt((width**2).sum()))
    sigma = None if ldp.mechanism == "laplace" else gaussian_sigma(l2, ldp.epsilon, ldp.delta)
    series, windows = {}, 0
    for pid, values in base.series.items():
        means = block_means(np.clip(values, low, high), frames).astype(np.float64)
        starts = np.arange(0, len(values), frames)
        rng = participant_rng(settings, pid, "ldp")
        if sigma is None:
            noise = rng.laplace(0.0, laplace_scale(l1, ldp.epsilon), (len(starts), len(base.columns)))
        else:
            noise = rng.normal(0.0, sigma, (len(starts), len(base.columns)))
        lengths = np.diff(np.append(starts, len(values)))
        series[pid] = (means + np.repeat(noise, lengths, axis=0)).astype(np.float32)
        windows = max(windows, len(starts))
    total = composed_epsilon(ldp, windows, l2, sigma)
    privacy = {"mechanism": f"ldp-{ldp.mechanism}", "epsilon_per_window": ldp.epsilon,
               "delta_per_window": 0.0 if sigma is None else ldp.delta, "window_frames": frames,
               "windows_per_participant": windows, "epsilon_participant": total,
               "delta_participant": 0.0 if sigma is None else ldp.delta,
               "noise": {"laplace_scale": laplace_scale(l1, ldp.epsilon)} if sigma is None else {"sigma": sigma},
               "sensitivity": {"l1": l1, "l2": l2},
               "composition": "basic (pure DP: windows x epsilon)" if sigma is None else
               "zCDP (rho = windows x Delta2^2 / (2 sigma^2)), epsilon at delta_participant"}
    line = (f"local DP ({ldp.mechanism}): epsilon {ldp.epsilon:g} per {frames}-frame window; composed over a "
            f"participant's {windows} windows: epsilon {total:.4g}" + ("" if sigma is None else f", delta {ldp.delta:g}"))
    return replace_series(base, "ldp", series, privacy=privacy, notes={"release": line})


LDP = Transform(_ldp)
