"""What a report reads: benchmark stores and result folders, checked; failed jobs and skipped folders kept.

A store is a folder with ``store.json`` (``{"format": "privbench-store", "version": 1, ...}``), its
complete result folders under ``runs/<key>/`` and its failed jobs as ``failed/<key>.json``. Names
starting with '.' there are locks and partial folders of running jobs: skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from privbench.errors import InputError
from privbench.results import ResultError, ResultFolder, load_result
from privbench.results.store_marker import check_store_marker



@dataclass(frozen=True)
class FailedJob:
    """A job the benchmark could not finish: ``failed/<key>.json``."""

    key: str
    job: str
    error: str
    finished: str


@dataclass(frozen=True)
class Skipped:
    """A folder or file not read, and why."""

    path: Path
    reason: str


@dataclass
class Collection:
    """Every complete result folder found, the stores they came from, failed jobs and what was skipped."""

    folders: list[ResultFolder] = field(default_factory=list)
    stores: list[Path] = field(default_factory=list)
    failed: list[FailedJob] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, folder: ResultFolder) -> None:
        """Add ``folder`` unless the same folder (by resolved path) came through another input."""
        if all(f.path.resolve() != folder.path.resolve() for f in self.folders):
            self.folders.append(folder)


def is_store(path: Path) -> bool:
    return (path / "store.json").is_file()


def collect(paths: list[Path]) -> Collection:
    """Read every input: a store contributes its runs, a result folder itself. Anything that is neither,
    an empty folder, a store of another version, or no result at all raises ``InputError`` naming the path."""
    if not paths:
        raise InputError("no input: give a benchmark store or result folders")
    found = Collection()
    for path in paths:
        if is_store(path):
            _read_store(path, found)
        else:
            found.add(_result_folder(path))
    if not found.folders:
        where = ", ".join(str(p) for p in paths)
        raise InputError(f"{where}: no complete result folder ({len(found.failed)} failed job(s), "
                         f"{len(found.skipped)} skipped)")
    return found


def _result_folder(path: Path) -> ResultFolder:
    if not path.exists():
        raise InputError(f"{path}: no such folder")
    if not path.is_dir():
        raise InputError(f"{path}: not a folder (give a benchmark store or a result folder)")
    if not any(path.iterdir()):
        raise InputError(f"{path}: empty folder, neither a benchmark store nor a result folder")
    try:
        return load_result(path)
    except ResultError as err:
        raise InputError(f"{path}: neither a benchmark store (no store.json) nor a result folder ({err})") from None


def _read_store(path: Path, found: Collection) -> None:
    check_store_marker(path / "store.json")
    found.stores.append(path)
    runs = path / "runs"
    for entry in sorted(runs.iterdir()) if runs.is_dir() else ():
        if entry.name.startswith("."):
            if entry.is_dir():
                found.skipped.append(Skipped(entry, "a running (or killed) job's partial folder"))
        elif not entry.is_dir():
            found.skipped.append(Skipped(entry, "not a folder"))
        else:
            try:
                found.add(load_result(entry))
            except ResultError as err:
                found.skipped.append(Skipped(entry, str(err)))
    failed = path / "failed"
    for entry in sorted(failed.glob("*.json")) if failed.is_dir() else ():
        if not entry.name.startswith("."):
            _read_failed(entry, found)


def _read_failed(path: Path, found: Collection) -> None:
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        found.skipped.append(Skipped(path, "malformed failed-job record"))
        return
    if not isinstance(record, dict) or not isinstance(record.get("error"), str):
        found.skipped.append(Skipped(path, "failed-job record without an error line"))
        return
    found.failed.append(FailedJob(str(record.get("key", path.stem)), str(record.get("job", "?")),
                                  record["error"].strip().splitlines()[0] if record["error"].strip() else "?",
                                  str(record.get("finished", ""))))
