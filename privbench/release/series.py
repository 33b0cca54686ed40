"""A release as the recipient gets it: one float32 series [T, F] per participant, no pixels; and the
parts every transform shares (its raw input, the columns' declared ranges, a participant's noise stream)."""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from privbench.data.layout import Dataset
from privbench.errors import ConfigError

if TYPE_CHECKING:
    from privbench.progress import Progress
    from privbench.release.settings import ReleaseSettings


@dataclass(frozen=True)
class Release:
    """Per-participant feature series (keyed by participant id: the *scoring* side decides what the
    adversary may know of the keys), their column names and frame rate. ``centre`` and ``scale`` are a
    data-independent normalisation of each column (what DP-SGD trains with: never fitted on the
    private participants); ``privacy`` is the transform's own accounting (``ldp``), ``notes`` what it did."""

    representation: str
    columns: tuple[str, ...]
    fps: float
    series: dict[str, np.ndarray]  # participant -> float32 [T, len(columns)], finite
    centre: np.ndarray | None = None
    scale: np.ndarray | None = None
    privacy: dict = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    settings: ReleaseSettings | None = None  # what made it (set by ``build_release``)

    def __post_init__(self) -> None:
        for pid, values in self.series.items():
            if values.ndim != 2 or values.shape[1] != len(self.columns):
                raise ValueError(f"{pid}: series of shape {values.shape} for {len(self.columns)} columns")
            if not np.isfinite(values).all():
                raise ValueError(f"{pid}: non-finite released values")

    @property
    def described(self) -> str:
        """The transform with its strength (``ReleaseSettings.describe``): ``noise(snr=3)``."""
        return self.settings.describe() if self.settings is not None else self.representation

    def digest(self) -> str:
        """SHA-256 of every participant's series (ids, shapes and bytes, in id order): two releases with the
        same digest are the same bits."""
        sha = hashlib.sha256()
        for pid in sorted(self.series):
            values = np.ascontiguousarray(self.series[pid], dtype=np.float32)
            sha.update(f"{pid}:{values.shape}".encode())
            sha.update(values.tobytes())
        return sha.hexdigest()


@dataclass(frozen=True)
class Context:
    """What a transform may read besides the raw release: the data set (its manifest, its root), where to
    report progress and, for the releases read from a run folder, that folder."""

    dataset: Dataset
    progress: Progress
    run: Path | None = None


@dataclass(frozen=True)
class Transform:
    """A registered transform: ``build(raw, settings, context)`` turns the raw release into this one
    (``needs_raw`` False: it reads something else, and receives None)."""

    build: Callable[[Release | None, ReleaseSettings, Context], Release]
    needs_raw: bool = True


def raw_release(dataset: Dataset) -> Release:
    """The 17 AU intensities and 18 presences as OpenFace writes them (the manifest's AU columns)."""
    columns = list(dataset.manifest.au_columns)
    series = {pid: dataset.aus(pid)[columns].to_numpy(np.float32) for pid in dataset.ids}
    low, high = ranges(dataset, tuple(columns))
    return Release("raw", tuple(columns), dataset.manifest.fps, series, centre=(low + high) / 2,
                   scale=(high - low) / 2)


def ranges(dataset: Dataset, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each column's declared range (manifest ``au_ranges``, else OpenFace's: intensities [0, 5], presences
    {0, 1}); a column without one is refused (clipping and scaling need it)."""
    bounds = []
    for column in columns:
        rule = dataset.manifest.au_range(column)
        if rule is None:
            raise ConfigError(f"{dataset.root / 'manifest.json'}: AU column {column} has no declared range "
                              "(au_ranges); the release transforms need one")
        bounds.append((rule.low, rule.high))
    array = np.array(bounds, np.float32).reshape(-1, 2)
    return array[:, 0], array[:, 1]


def participant_rng(settings: ReleaseSettings, pid: str, stream: str) -> np.random.Generator:
    """The noise stream of one participant: seeded by ``release_seed``, the transform and the participant's
    id alone, so the same settings give the same noise in every process, whoever else is in the data."""
    return np.random.default_rng([settings.release_seed, zlib.crc32(stream.encode()), zlib.crc32(pid.encode())])


def frames_of(seconds: float, fps: float, name: str, shortest: int) -> int:
    """``seconds`` as a whole number of frames, refused when shorter than one frame or longer than the
    shortest session (``shortest`` frames)."""
    frames = round(seconds * fps)
    if seconds * fps < 1 - 1e-9 or frames < 1:
        raise ConfigError(f"{name}={seconds:g} s is shorter than one frame ({1 / fps:g} s at {fps:g} fps)")
    if frames > shortest:
        raise ConfigError(f"{name}={seconds:g} s is longer than the shortest session ({shortest / fps:g} s)")
    return frames


def replace_series(base: Release, representation: str, series: dict[str, np.ndarray], *,
                   columns: tuple[str, ...] | None = None, **extra) -> Release:
    """``base`` with other series (and columns), its declared normalisation kept unless ``extra`` replaces it."""
    keep = {"centre": base.centre, "scale": base.scale, **extra}  # notes, privacy and description: this transform's
    return Release(representation, columns or base.columns, base.fps, series, **keep)
