"""Write the synthetic corpus in the dataset layout, and keep a cache of it for ``--data synthetic``.

A cache entry is ``<cache>/synthetic/<key>/`` (key: a hash of the settings). One process at a time
works on an entry, holding an exclusive lock on ``<key>.lock`` beside it; others wait, then reuse
its work. ``cache.json``, written last, records every file's size and sha256 (the frame files'
too, hashed streamed, several at a time): an entry that does not match it, or has none (an
interrupted generation), is generated again, with one line saying why. The frame files' hashes
are checked only when a use needs the frames (an AU run does not pay for them).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import platformdirs
import yaml

from privbench.config import to_dict
from privbench.data.faces import FaceIdentity, render_frames, sample_identity
from privbench.data.layout import (
    AU_COLUMNS,
    AU_INTENSITY,
    AU_PRESENCE,
    DIMENSIONS,
    Dataset,
    Manifest,
    frames_header,
)
from privbench.data.synthetic import (
    ParticipantSignals,
    Person,
    SyntheticConfig,
    generate,
    people,
    stream,
)
from privbench.data.writer import DatasetWriter, open_frames_file
from privbench.errors import DatasetError, InputError
from privbench.io import write_text
from privbench.progress import Progress

CONFIG_FILE = "synthetic.yaml"
GENERATOR_VERSION = 2  # 2: stationary smooth noise (session means vary per person; docs/data.md)
CACHE_RECORD = "cache.json"
HASH_CHUNK = 8 << 20  # bytes read at a time when hashing a file


def cache_root() -> Path:
    """``$PRIVBENCH_CACHE`` if set, else the user cache folder (e.g. ~/.cache/privbench)."""
    return Path(os.environ.get("PRIVBENCH_CACHE") or platformdirs.user_cache_dir("privbench"))


def config_key(cfg: SyntheticConfig) -> str:
    """A short stable hash of the generator settings and version (the cache folder's name): a new
    generator never reuses data an older one cached."""
    text = json.dumps({**to_dict(cfg), "generator": GENERATOR_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def synthetic_dataset(cfg: SyntheticConfig, need_frames: bool, progress: Progress) -> Path:
    """The cached dataset for ``cfg`` (generated on first use); frames are rendered when first needed.
    An entry that does not match its record (with ``need_frames``, frame contents included) is
    generated again, with one line saying why."""
    key = config_key(cfg)
    root = cache_root() / "synthetic" / key
    with _entry_lock(root.with_name(f"{key}.lock"), progress):
        problem = entry_problem(root, frames=need_frames)
        if problem is not None:
            if root.exists():
                progress.note(f"synthetic data cache {root}: {problem}; generating the entry again")
            write_synthetic(cfg, root, force=True, frames=need_frames, progress=progress)
        elif need_frames and Dataset(root).manifest.frame_size is None:
            add_frames(root, cfg, progress)
        else:
            return root
        _write_record(root)
    return root


@contextmanager
def _entry_lock(path: Path, progress: Progress) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent), waiting while another process holds it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError as err:
        raise InputError(f"{path.parent}: cannot write the synthetic-data cache ({err.strerror}); "
                         "set PRIVBENCH_CACHE to a writable folder") from None
    with handle:  # closing the file releases the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            task = progress.add(f"waiting for another privbench process to generate {path.stem}", total=1)
            fcntl.flock(handle, fcntl.LOCK_EX)
            progress.remove(task)
        yield


def entry_intact(root: Path, frames: bool = True) -> bool:
    """Whether ``root`` matches its cache record (``entry_problem`` finds nothing)."""
    return entry_problem(root, frames) is None


def entry_problem(root: Path, frames: bool) -> str | None:
    """What makes the entry ``root`` differ from its cache record, in a few words (None if nothing):
    a file missing or of another size, or a table whose sha256 differs; with ``frames``, also a frame
    file whose sha256 differs or was never recorded."""
    try:
        files = json.loads((root / CACHE_RECORD).read_text())["files"]
        if not files:
            return "empty cache record"
        for name, entry in files.items():
            size = (root / name).stat().st_size
            if size != entry["size"]:
                return f"{name} holds {size:,} bytes, {entry['size']:,} when it was written"
        checked = {name: entry.get("sha256") for name, entry in files.items() if frames or not name.endswith(".npy")}
    except FileNotFoundError as err:
        return f"{Path(err.filename).name} missing" + (" (an interrupted generation)" if err.filename.endswith(
            CACHE_RECORD) else "")
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return "unreadable cache record"
    unrecorded = [name for name, digest in checked.items() if digest is None]
    if unrecorded:
        return f"no checksum recorded for {unrecorded[0]} (cached by an older privbench)"
    digests = file_digests([root / name for name in checked])
    changed = [name for name, digest in checked.items() if digests[root / name] != digest]
    return f"{changed[0]} does not match its checksum (changed since it was written)" if changed else None


def file_digests(paths: list[Path]) -> dict[Path, str]:
    """The sha256 of each file, read in chunks (never whole), several files at a time (hashlib
    releases the GIL)."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(paths), os.cpu_count() or 1))) as pool:
        return dict(zip(paths, pool.map(_sha256, paths)))


def _write_record(root: Path) -> None:
    """Record the size and sha256 of every file of the entry."""
    paths = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".") and p.name != CACHE_RECORD)
    digests = file_digests(paths)
    files = {p.relative_to(root).as_posix(): {"size": p.stat().st_size, "sha256": digests[p]} for p in paths}
    write_text(root / CACHE_RECORD, json.dumps({"files": files}, indent=1) + "\n")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buffer = bytearray(HASH_CHUNK)
        view = memoryview(buffer)
        while count := handle.readinto(buffer):
            digest.update(view[:count])
    return digest.hexdigest()


def write_synthetic(cfg: SyntheticConfig, out: Path, force: bool, frames: bool, progress: Progress) -> Path:
    """Generate the whole dataset into ``out``, which appears complete or not at all; with ``frames``
    also the face frames."""
    manifest = Manifest(
        name=f"synthetic-{config_key(cfg)}", fps=cfg.fps, au_columns=list(AU_COLUMNS),
        frame_size=cfg.frame_size if frames else None, annotators=cfg.annotator_names,
        source="privbench synthetic generator",
    )
    persons = people(cfg)
    task = progress.add("generating participants" + (" and faces" if frames else ""), total=len(persons))
    with DatasetWriter(out, manifest, force=force) as writer:
        for index, person in enumerate(persons):
            signals = generate(cfg, index, person)
            folder = writer.add_participant(dataclasses.asdict(person), *_tables(cfg, signals))
            _truth_table(cfg, signals).to_csv(folder / "truth.csv", index=False, float_format="%.4f")
            if frames:
                _render(cfg, index, signals, writer.frames_file(person.participant_id, cfg.frames, cfg.frame_size))
            progress.advance(task)
        (writer.tmp / CONFIG_FILE).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    progress.remove(task)
    return out


def add_frames(root: Path, cfg: SyntheticConfig, progress: Progress) -> None:
    """Render frames.npy for every participant of the cache entry ``root`` that lacks a sound one
    (each under a unique temporary name, renamed into place); the caller holds the entry's lock."""
    dataset = Dataset(root)
    persons = people(cfg)
    todo = [i for i, p in enumerate(persons) if not _frames_sound(root / p.participant_id / "frames.npy", cfg)]
    task = progress.add("rendering faces", total=len(todo))
    for index in todo:
        person = persons[index]
        final = root / person.participant_id / "frames.npy"
        for stale in final.parent.glob(".frames.npy.*.partial"):  # left by a killed process
            stale.unlink(missing_ok=True)
        partial = final.with_name(f".frames.npy.{os.getpid()}-{secrets.token_hex(4)}.partial")
        try:
            _render(cfg, index, generate(cfg, index, person), open_frames_file(partial, cfg.frames, cfg.frame_size))
            partial.replace(final)
        finally:
            partial.unlink(missing_ok=True)
        progress.advance(task)
    progress.remove(task)
    manifest = dataclasses.replace(dataset.manifest, frame_size=cfg.frame_size)
    write_text(root / "manifest.json", manifest.to_json())


def _frames_sound(path: Path, cfg: SyntheticConfig) -> bool:
    """Whether ``path`` is a complete frames.npy of the shape ``cfg`` gives."""
    try:
        return frames_header(path)[0] == (cfg.frames, cfg.frame_size, cfg.frame_size, 3)
    except DatasetError:
        return False


def _render(cfg: SyntheticConfig, index: int, signals: ParticipantSignals, out: np.memmap) -> None:
    """Draw participant ``index``'s face frames into ``out`` and flush it to disk."""
    render_frames(face_identity(cfg, index, signals.person), signals.expression, cfg.frame_size,
                  stream(cfg, index, "render"), out, nuisance_scale=cfg.frame_nuisance)
    out.flush()


def face_identity(cfg: SyntheticConfig, index: int, person: Person) -> FaceIdentity:
    """Participant ``index``'s appearance; identical for everyone when both strength knobs are 0."""
    return sample_identity(
        stream(cfg, index, "face"), person.gender, person.age, cfg.identity_strength, cfg.demographic_strength,
    )


def _timestamps(cfg: SyntheticConfig, n: int) -> np.ndarray:
    return np.round(np.arange(n) / cfg.fps, 3)


def _tables(cfg: SyntheticConfig, s: ParticipantSignals) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(s.latent)
    aus = pd.DataFrame(np.concatenate([s.intensity, s.presence], axis=1), columns=AU_INTENSITY + AU_PRESENCE)
    aus[AU_PRESENCE] = aus[AU_PRESENCE].astype(int)
    aus.insert(0, "success", 1)
    aus.insert(0, "timestamp", _timestamps(cfg, n))
    ratings = {"timestamp": _timestamps(cfg, n)}
    for d, dim in enumerate(DIMENSIONS):
        for a, name in enumerate(cfg.annotator_names):
            ratings[f"{dim}_{name}"] = s.ratings[:, a, d]
    for d, dim in enumerate(DIMENSIONS):
        ratings[dim] = np.round(s.gold[:, d], 4)
    return aus, pd.DataFrame(ratings)


def _truth_table(cfg: SyntheticConfig, s: ParticipantSignals) -> pd.DataFrame:
    """The latent affect (synthetic only; used for the ceiling, never by methods or attacks)."""
    table = pd.DataFrame(s.latent, columns=list(DIMENSIONS))
    table.insert(0, "timestamp", _timestamps(cfg, len(table)))
    return table
