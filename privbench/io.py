"""Atomic writes: a result or dataset folder appears complete or not at all.

An output folder is *claimed* before any work starts: a lock file beside it (``.<name>.lock``,
held with ``flock`` for the life of the claim) and a private work folder (``.<name>.partial``) that
is renamed into place when the work succeeds. A second process that asks for the same folder is
refused at once instead of after hours of training; a claim left by a killed process (its lock is
released by the kernel) is taken over and its partial folder cleared.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from privbench.errors import InputError


class OutputBusy(InputError):
    """The output folder is being written by another live process (its lock is held)."""


class OutputExists(InputError):
    """The output folder already holds something (and ``force`` was not given)."""


class OutputClaim:
    """Exclusive use of the output folder ``out`` by this process until ``commit`` or ``abandon``."""

    def __init__(self, out: Path, *, force: bool = False, hint: str = "use --force to replace it") -> None:
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise InputError(f"{self.out}: exists and is not a folder")
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise cannot_create(Path(err.filename or self.out.parent), self.out, err) from None
        self.lock_path = self.out.with_name(f".{self.out.name}.lock")
        self.tmp = self.out.with_name(f".{self.out.name}.partial")
        self._fd = self._lock()
        try:
            if self.out.exists() and any(self.out.iterdir()) and not force:
                raise OutputExists(f"{self.out}: already exists and is not empty ({hint})")
            shutil.rmtree(self.tmp, ignore_errors=True)  # left by a killed run: its lock is gone
            self.tmp.mkdir()
        except BaseException:
            self._unlock()
            raise

    def _lock(self) -> int:
        """Open and lock ``lock_path`` (non-blocking); retry if another process replaced the file meanwhile."""
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise cannot_create(self.lock_path, self.out, err) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise OutputBusy(
                    f"{self.out}: another privbench process (pid {owner}) is writing it; wait for it or choose "
                    "another output folder") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
                return fd
            os.close(fd)  # the holder finished and removed the file between our open and flock

    def _unlock(self) -> None:
        if self._fd < 0:
            return
        try:
            os.unlink(self.lock_path)
        except FileNotFoundError:
            pass
        os.close(self._fd)
        self._fd = -1

    def commit(self) -> Path:
        """Move the finished work folder into place (replacing an old ``out`` only now) and release."""
        try:
            if self.out.exists():
                old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
                self.out.rename(old)
                self.tmp.rename(self.out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                self.tmp.rename(self.out)
        finally:
            self._unlock()
        return self.out

    def abandon(self) -> None:
        """Remove the work folder and release; ``out`` is untouched."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._unlock()


def cannot_create(path: Path, out: Path, err: OSError) -> InputError:
    """One line for ``path`` (on the way to the output ``out``) that could not be created, naming what
    is in the way: a file where a folder should be, or a folder that takes no new entries (/proc)."""
    parent = path if path.exists() and not path.is_dir() else path.parent  # a file in the way, else its folder
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return InputError(f"{parent}: is a file, not a folder, so {out} cannot be created in it")
    if err.errno == errno.ENOENT:  # the folder exists, yet creating in it says "no such file": /proc, /sys
        return InputError(f"{parent}: takes no new files or folders, so {out} cannot be created there "
                          f"(creating {path.name}: {err.strerror})")
    return InputError(f"{parent}: cannot write there ({err.strerror})")


@contextmanager
def atomic_dir(out: Path, force: bool = False, hint: str = "use --force to replace it") -> Iterator[Path]:
    """Claim ``out`` and yield its private work folder; rename it to ``out`` when the block succeeds.

    An existing non-empty ``out`` is an error unless ``force``; then it is replaced only once the
    new folder is complete. If the block raises (or is interrupted), the work folder is removed and
    ``out`` is untouched.
    """
    claim = OutputClaim(Path(out), force=force, hint=hint)
    try:
        yield claim.tmp
    except BaseException:
        claim.abandon()
        raise
    claim.commit()


def write_text(path: Path, text: str) -> None:
    """Write a file through a uniquely named temporary file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}.tmp")
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically; a non-finite number anywhere is refused (JSON has none, and a NaN
    score must never reach a result file)."""
    bad = non_finite_paths(data)
    if bad:
        raise ValueError(f"{path}: refusing to write non-finite values at {', '.join(bad[:5])}")
    write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def non_finite_paths(data: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every NaN or infinite float in a tree of dicts and lists."""
    if isinstance(data, float):
        return [] if math.isfinite(data) else [prefix or "(root)"]
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in non_finite_paths(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(data, (list, tuple)):
        return [p for i, v in enumerate(data) for p in non_finite_paths(v, f"{prefix}[{i}]")]
    return []
