"""Participant ids of imported files: from the file stems or ``--participant``, matched across sources."""

from __future__ import annotations

from pathlib import Path

from privbench.errors import InputError


def participant_ids(files: list[Path], given: list[str] | None, option: str) -> list[str]:
    """Participant ids from ``option`` (one per file) or the file stems; no duplicates."""
    if given and len(given) != len(files):
        raise InputError(f"{option}: {len(given)} id(s) for {len(files)} file(s); give one per file or none")
    ids = list(given) if given else [f.stem for f in files]
    seen: dict[str, Path] = {}
    for pid, path in zip(ids, files):
        if pid in seen:
            raise InputError(f"{path}: participant id {pid!r} again (also {seen[pid]}); use {option}")
        seen[pid] = path
    return ids


def match_files(primary: dict[str, Path], files: list[Path], kind: str) -> dict[str, Path]:
    """``files`` by participant id (their stems), which must be exactly the ids of ``primary``."""
    by_id: dict[str, Path] = {}
    for path in files:
        if path.stem in by_id:
            raise InputError(f"{path}: a second {kind} for participant {path.stem!r} (also {by_id[path.stem]})")
        by_id[path.stem] = path
    extra = [path for stem, path in by_id.items() if stem not in primary]
    if extra:
        known = ", ".join(sorted(primary)[:4]) + (" ..." if len(primary) > 4 else "")
        raise InputError(f"{extra[0]}: participant {extra[0].stem!r} does not match any of {known} "
                         "(participant ids must match between inputs)")
    missing = [pid for pid in primary if pid not in by_id]
    if missing:
        raise InputError(f"{primary[missing[0]]}: no {kind} for participant {missing[0]!r} "
                         f"(files are matched by name: expected {missing[0]}.*)")
    return by_id
