"""A results store: complete result folders under ``runs/``, the failures under ``failed/``.

```
STORE/store.json          {"format": "privbench-store", "version": 1, "created", "privbench"}
STORE/runs/<job folder>/  a complete result folder (train or attack), as privbench run --out writes it;
                          run.json's labels hold the job's key and axis values
STORE/failed/<key>.json   {"key", "job", "error", "finished"}: the job's one-line error (retried on a rerun)
```
A job's folder is claimed with the same lock as any result folder (``privbench.io``): two benches on
one store never run one job twice, and a killed job leaves nothing that looks complete.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from datetime import datetime
from pathlib import Path

from privbench.errors import InputError
from privbench.io import OutputBusy, atomic_dir, write_json
from privbench.results import ResultError, load_result, now, versions
from privbench.results.store_marker import MARKER, STORE_FORMAT, STORE_VERSION, check_store_marker



class Store:
    """An opened (or created) store; see the module docstring for its layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.failed = self.root / "failed"

    @classmethod
    def open(cls, root: Path, *, create: bool) -> Store:
        """The store at ``root``, checked; with ``create``, made if absent (an empty folder is taken).
        A new store appears whole (claimed and renamed into place), so a second bench starting at the
        same moment waits for it instead of finding a half-made folder."""
        store = cls(root)
        marker = store.root / MARKER
        for _ in range(600):
            if marker.is_file():
                store._check_marker(marker)
                return store
            if not create:
                raise InputError(f"{root}: not a privbench store (no {MARKER})")
            if store.root.exists() and (not store.root.is_dir() or any(store.root.iterdir())):
                raise InputError(f"{root}: exists and is not a privbench store (no {MARKER}); choose another --out")
            try:
                with atomic_dir(store.root, hint="choose another --out") as work:
                    (work / "runs").mkdir()
                    (work / "failed").mkdir()
                    write_json(work / MARKER, {"format": STORE_FORMAT, "version": STORE_VERSION, "created": now(),
                                               "privbench": versions().get("privbench", "?")})
                return store
            except OutputBusy:  # another bench is creating it now
                time.sleep(0.05)
        raise InputError(f"{root}: another process has been creating this store for 30 s")

    def _check_marker(self, marker: Path) -> None:
        check_store_marker(marker)
        self.runs.mkdir(exist_ok=True)
        self.failed.mkdir(exist_ok=True)

    def folder(self, name: str) -> Path:
        return self.runs / name

    def is_complete(self, name: str) -> bool:
        """The job's folder exists and loads as a complete result."""
        if not (self.runs / name / "run.json").is_file():
            return False
        try:
            load_result(self.runs / name)
        except ResultError:
            return False
        return True

    def held_elsewhere(self, name: str) -> bool:
        """Another live process holds the job's folder claim (it is running that job now)."""
        lock = self.runs / f".{name}.lock"
        try:
            fd = os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def record_failure(self, key: str, label: str, error: str) -> None:
        write_json(self.failed / f"{key}.json", {"key": key, "job": label, "error": error, "finished": now()})

    def clear_failure(self, key: str) -> None:
        (self.failed / f"{key}.json").unlink(missing_ok=True)

    def failure(self, key: str) -> str | None:
        """The recorded one-line error of the job, or None."""
        try:
            return json.loads((self.failed / f"{key}.json").read_text()).get("error")
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def seconds(self) -> dict[str, list[float]]:
        """Measured wall times of the complete jobs, by their ``similar`` label (run.json's labels)."""
        found: dict[str, list[float]] = {}
        for run in self.runs.glob("[!.]*/run.json"):
            try:
                record = json.loads(run.read_text())
                started, finished = (datetime.fromisoformat(record[k]) for k in ("started", "finished"))
                similar = record["labels"]["similar"]
            except (KeyError, TypeError, ValueError):
                continue
            found.setdefault(similar, []).append((finished - started).total_seconds())
        return found
