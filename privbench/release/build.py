"""``build_release``: the release of a data set under given settings, the one function through which the
``au`` method's training input and the attacks' input pass (so both get the same bits)."""

from __future__ import annotations

import dataclasses
import weakref
from pathlib import Path

from privbench.data.layout import Dataset
from privbench.progress import Progress
from privbench.release import TRANSFORMS
from privbench.release.series import Context, Release, Transform, raw_release
from privbench.release.settings import ReleaseSettings

# Built releases per Dataset object (a run's folds share one): each fold reads the series built once.
_BUILT: weakref.WeakKeyDictionary[Dataset, dict] = weakref.WeakKeyDictionary()


def build_release(dataset: Dataset, settings: ReleaseSettings, *, run: Path | None = None,
                  progress: Progress | None = None) -> Release:
    """The release ``settings`` of ``dataset`` (``run``: a run folder, for the releases read from one)."""
    built = _BUILT.setdefault(dataset, {})
    key = (settings, str(run) if run is not None else None)
    if key not in built:
        transform: Transform = TRANSFORMS.get(settings.release)
        base = raw_release(dataset) if transform.needs_raw else None
        context = Context(dataset, progress or Progress(enabled=False), Path(run) if run is not None else None)
        built.clear()  # one release per data set held at a time: they are the size of the AU tables
        release = transform.build(base, settings, context)
        built[key] = release if release.settings else dataclasses.replace(release, settings=settings)
    return built[key]


def release_line(release: Release) -> dict[str, str]:
    """What a run or an attack records of its release: the transform with its strength, its digest (the
    same digest in a train run and an attack means the same series, bit for bit), and the transform's notes."""
    return {"release_settings": release.described, "release_sha256": release.digest(),
            **({"release_notes": release.notes["release"]} if "release" in release.notes else {})}


def release_settings(release: str, assignments: list[str] | tuple[str, ...] = ()) -> ReleaseSettings:
    """``ReleaseSettings`` for ``release`` with ``--set``-style ``assignments`` (``noise.snr=3``), checked."""
    from privbench.config import build, override

    return override(build(ReleaseSettings, {"release": release}, "--set"), list(assignments))
