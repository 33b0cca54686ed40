"""Write the synthetic corpus in the dataset layout, and keep a cache of it for ``--data synthetic``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

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
    DatasetWriter,
    Manifest,
    open_frames_file,
)
from privbench.data.synthetic import (
    ParticipantSignals,
    Person,
    SyntheticConfig,
    generate,
    people,
    stream,
)
from privbench.io import write_text
from privbench.progress import Progress

CONFIG_FILE = "synthetic.yaml"


def cache_root() -> Path:
    """``$PRIVBENCH_CACHE`` if set, else the user cache folder (e.g. ~/.cache/privbench)."""
    return Path(os.environ.get("PRIVBENCH_CACHE") or platformdirs.user_cache_dir("privbench"))


def config_key(cfg: SyntheticConfig) -> str:
    """A short stable hash of the generator settings (the cache folder's name)."""
    text = json.dumps(to_dict(cfg), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def synthetic_dataset(cfg: SyntheticConfig, need_frames: bool, progress: Progress) -> Path:
    """The cached dataset for ``cfg`` (generated on first use); frames are rendered when first needed."""
    root = cache_root() / "synthetic" / config_key(cfg)
    if not (root / "manifest.json").exists():
        write_synthetic(cfg, root, force=True, frames=False, progress=progress)
    if need_frames:
        add_frames(root, cfg, progress)
    return root


def write_synthetic(cfg: SyntheticConfig, out: Path, force: bool, frames: bool, progress: Progress) -> Path:
    """Generate the whole dataset into ``out`` (atomically); with ``frames`` also the face frames."""
    manifest = Manifest(
        name=f"synthetic-{config_key(cfg)}", fps=cfg.fps, au_columns=list(AU_COLUMNS),
        frame_size=None, annotators=cfg.annotator_names, source="privbench synthetic generator",
    )
    persons = people(cfg)
    task = progress.add("generating participants", total=len(persons))
    with DatasetWriter(out, manifest, force=force) as writer:
        for index, person in enumerate(persons):
            signals = generate(cfg, index, person)
            folder = writer.add_participant(dataclasses.asdict(person), *_tables(cfg, signals))
            _truth_table(cfg, signals).to_csv(folder / "truth.csv", index=False, float_format="%.4f")
            progress.advance(task)
        (writer.tmp / CONFIG_FILE).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    progress.remove(task)
    if frames:
        add_frames(out, cfg, progress)
    return out


def add_frames(root: Path, cfg: SyntheticConfig, progress: Progress) -> None:
    """Render frames.npy for every participant that lacks it (each file appears atomically)."""
    dataset = Dataset(root)
    persons = people(cfg)
    todo = [i for i, p in enumerate(persons) if not dataset.has_frames(p.participant_id)]
    if not todo:
        return
    task = progress.add("rendering faces", total=len(todo))
    for index in todo:
        person = persons[index]
        signals = generate(cfg, index, person)
        identity = face_identity(cfg, index, person)
        final = root / person.participant_id / "frames.npy"
        partial = final.with_name(".frames.npy.partial")
        out = open_frames_file(partial, cfg.frames, cfg.frame_size)
        render_frames(identity, signals.expression, cfg.frame_size, stream(cfg, index, "render"), out,
                      nuisance_scale=cfg.frame_nuisance)
        out.flush()
        del out
        partial.replace(final)
        progress.advance(task)
    progress.remove(task)
    manifest = dataclasses.replace(dataset.manifest, frame_size=cfg.frame_size)
    write_text(root / "manifest.json", manifest.to_json())


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
