"""Putting one time series on another's time grid: nearest sample within half a grid step."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator, TypeVar

import numpy as np

from privbench.errors import DatasetError

T = TypeVar("T")
_SLACK = 1e-6  # seconds; absorbs rounding in written timestamps


def grid_step(times: np.ndarray) -> float:
    """The typical spacing of a sorted time grid (median difference)."""
    return float(np.median(np.diff(times)))


def nearest_rows(source: np.ndarray, target: np.ndarray, tolerance: float) -> np.ndarray:
    """For each target time, the index of the nearest source time within ``tolerance``, else -1.

    Both arrays are sorted; on a tie the earlier source row wins.
    """
    if len(source) == 0:
        return np.full(len(target), -1)
    right = np.clip(np.searchsorted(source, target), 0, len(source) - 1)
    left = np.clip(right - 1, 0, len(source) - 1)
    pick = np.where(np.abs(source[right] - target) < np.abs(source[left] - target), right, left)
    return np.where(np.abs(source[pick] - target) <= tolerance + _SLACK, pick, -1)


def align_stream(items: Iterable[tuple[float, T]], target: np.ndarray, tolerance: float) -> Iterator[T | None]:
    """Streaming twin of ``nearest_rows``: for each target time in order, the item (from time-sorted
    ``(time, item)`` pairs) nearest to it within ``tolerance``, or None. Holds at most the items
    that are candidates for targets not yet yielded."""
    best: dict[int, tuple[float, T]] = {}
    done = 0
    for time, item in items:
        while done < len(target) and target[done] < time - tolerance - _SLACK:
            yield best.pop(done, (0.0, None))[1]
            done += 1
        k = done
        while k < len(target) and target[k] <= time + tolerance + _SLACK:
            distance = abs(target[k] - time)
            if k not in best or distance < best[k][0]:
                best[k] = (distance, item)
            k += 1
    for k in range(done, len(target)):
        yield best.pop(k, (0.0, None))[1]


def check_rate(times: np.ndarray, fps: float | None, path: Path) -> float:
    """The grid's mean frame rate, which must agree within 1 % with the dataset's (``fps``, if known)."""
    rate = (len(times) - 1) / (times[-1] - times[0])
    if fps is not None and abs(rate - fps) > 0.01 * fps:
        raise DatasetError(f"{path}: {rate:.3g} frames/s, but earlier files have {fps:.3g} (one rate per dataset)")
    return fps or round(rate, 2)
