"""Gold-standard labels aligned with a participant's feature rows."""

from __future__ import annotations

import numpy as np

from privbench.data.layout import DIMENSIONS, Dataset, check_aligned
from privbench.errors import DatasetError


def gold_labels(dataset: Dataset, pid: str, timestamps: np.ndarray) -> np.ndarray:
    """[T, 2] gold valence/arousal for the given feature timestamps (must match the ratings' rows)."""
    if not dataset.has_ratings(pid):
        raise DatasetError(
            f"{dataset.root / pid}: no ratings.csv; this dataset is AU-only (usable by attacks, not by `run`)"
        )
    ratings = dataset.ratings(pid)
    source = "aus.csv" if dataset.has_aus(pid) else "frames.csv"
    check_aligned(dataset.root / pid / "ratings.csv", ratings["timestamp"].to_numpy(float), timestamps,
                  dataset.manifest.fps, source)
    return ratings[list(DIMENSIONS)].to_numpy(np.float32)
