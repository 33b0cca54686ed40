"""A dataset's manifest.json, the layout's column names and the plausible range of each AU column.

Torch-, numpy- and pandas-free, so a command can check its ``--data`` folder (and its manifest)
before it imports the data stack; ``privbench.data.layout`` re-exports these names.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from privbench.errors import DatasetError

LAYOUT_VERSION = 1
AU_NUMBERS = ["01", "02", "04", "05", "06", "07", "09", "10", "12", "14", "15", "17", "20", "23", "25", "26", "45"]
AU_INTENSITY = [f"AU{n}_r" for n in AU_NUMBERS]
AU_PRESENCE = [f"AU{n}_c" for n in sorted(AU_NUMBERS + ["28"])]
AU_COLUMNS = AU_INTENSITY + AU_PRESENCE
IMAGE_FOLDER = "image folder"  # the manifest source of `data import-images`: separate photos, not video

# OpenFace's ranges: intensities (AUxx_r) in [0, 5], presences (AUxx_c) 0 or 1. A value may lie
# AU_TOLERANCE outside (rounding by another tool); a manifest's ``au_ranges`` replaces a default.
OPENFACE_INTENSITY = (0.0, 5.0)
AU_TOLERANCE = 0.01


@dataclass(frozen=True)
class AURange:
    """What one AU column may hold: [low, high], or (``binary``) only low or high; each within AU_TOLERANCE."""

    low: float
    high: float
    binary: bool
    source: str  # where the rule comes from, for the error message

    def describe(self) -> str:
        values = f"{self.low:g} or {self.high:g}" if self.binary else f"[{self.low:g}, {self.high:g}]"
        return f"{self.source} {values}, within {AU_TOLERANCE:g}"


DEFAULT_AU_RANGES = {
    "AU*_r": AURange(*OPENFACE_INTENSITY, binary=False, source="OpenFace intensities lie in"),
    "AU*_c": AURange(0.0, 1.0, binary=True, source="OpenFace presences are"),
}


@dataclass(frozen=True)
class Manifest:
    """What a dataset holds, as written to manifest.json. ``au_ranges`` maps a column name pattern
    (``fnmatch``: ``AU*_r``) to the [low, high] that another extractor's AU values lie in."""

    name: str
    fps: float
    au_columns: list[str] = field(default_factory=lambda: list(AU_COLUMNS))
    frame_size: int | None = None
    annotators: list[str] = field(default_factory=list)
    source: str = "unknown"
    version: int = LAYOUT_VERSION
    counts: dict[str, int] = field(default_factory=dict)  # what an importer counted (masked rows, ...)
    au_ranges: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise DatasetError(f"{path.parent}: not a privbench dataset (no manifest.json)") from None
        except json.JSONDecodeError as err:
            raise DatasetError(f"{path}: malformed JSON ({err.msg}, line {err.lineno})") from None
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: not a UTF-8 text file") from None
        except (IsADirectoryError, PermissionError) as err:
            raise DatasetError(f"{path}: cannot read ({err.strerror})") from None
        if not isinstance(raw, dict):
            raise DatasetError(f"{path}: expected a JSON object, found {type(raw).__name__}")
        missing = {"name", "fps"} - set(raw)
        if missing:
            raise DatasetError(f"{path}: missing keys {sorted(missing)}")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise DatasetError(f"{path}: unknown keys {sorted(unknown)}")
        for key, value in raw.items():
            problem = _manifest_problem(key, value)
            if problem:
                raise DatasetError(f"{path}: {key} {problem}, found {json.dumps(value)[:40]}")
        return cls(**raw)

    @property
    def separate_photos(self) -> bool:
        """Whether the frames are separate photos (``data import-images``, one per second), not a video's
        consecutive frames, of which neighbours are near copies."""
        return self.source.startswith(IMAGE_FOLDER)

    def au_range(self, column: str) -> AURange | None:
        """The range ``column`` must lie in: the first declared pattern that matches, else OpenFace's
        (None for a column no rule names: then only finite values are required)."""
        for pattern, (low, high) in self.au_ranges.items():
            if fnmatchcase(column, pattern):
                return AURange(float(low), float(high), binary=False, source=f"manifest.json's au_ranges {pattern!r} declares")
        return next((rule for pattern, rule in DEFAULT_AU_RANGES.items() if fnmatchcase(column, pattern)), None)

    def to_json(self) -> str:
        record = asdict(self)
        if not self.au_ranges:  # the default: manifests stay as they were before the key existed
            del record["au_ranges"]
        return json.dumps(record, indent=2)


def _manifest_problem(key: str, value: Any) -> str | None:
    """What is wrong with a manifest.json value (None if nothing)."""
    if key in ("name", "source"):
        return None if isinstance(value, str) else "must be a string"
    if key == "fps":
        return None if _number(value) and value > 0 else "must be a positive number"
    if key == "frame_size":
        return None if value is None or _integer(value, 1) else "must be a positive integer or null"
    if key in ("au_columns", "annotators"):
        names = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        return None if names and len(set(value)) == len(value) else "must be a list of distinct names"
    if key == "version":
        return None if _integer(value, 1) and value == LAYOUT_VERSION else f"must be {LAYOUT_VERSION}"
    if key == "counts":
        counts = isinstance(value, dict) and all(_integer(v, 0) for v in value.values())
        return None if counts else "must map names to counts (integers >= 0)"
    if key == "au_ranges":
        pairs = isinstance(value, dict) and all(
            isinstance(r, list) and len(r) == 2 and all(map(_number, r)) and r[0] < r[1] for r in value.values())
        return None if pairs else "must map column patterns to [low, high] (finite numbers, low < high)"
    return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def dataset_folder(root: Path | str) -> Path:
    """``root`` as a Path if it is a folder; a missing path or a plain file is one clear error."""
    root = Path(root)
    if not root.is_dir():
        if root.exists():
            raise DatasetError(f"{root}: is a file, not a dataset folder (give the folder that holds manifest.json)")
        raise DatasetError(f"{root}: no such dataset folder")
    return root
