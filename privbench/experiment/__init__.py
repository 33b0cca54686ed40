"""One training run end to end: resolve the config, get the data, cross-validate, write the result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from privbench.config import PROFILES, build, override, profile_values, to_dict
from privbench.data.generate import synthetic_dataset
from privbench.data.layout import Dataset
from privbench.data.splits import make_splits
from privbench.data.synthetic import SyntheticConfig
from privbench.data.validate import check_trainable, validate
from privbench.errors import ConfigError
from privbench.evaluate.efficiency import PeakMemory
from privbench.io import atomic_dir
from privbench.methods import METHODS
from privbench.models.heads import RNNS
from privbench.progress import Progress
from privbench.results import check_labels, git_commit, new_run_id, now, versions, write_result
from privbench.experiment.crossval import CrossValidation, cross_validate

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class RunSpec:
    """A fully resolved training run (saved as config.yaml)."""

    method: str
    rnn: str
    profile: str
    seed: int
    folds: int
    device: str
    data: str  # "synthetic" or a dataset folder
    synthetic: SyntheticConfig | None
    train: Any  # the method's config dataclass


@dataclass(frozen=True)
class RunOutcome:
    path: Path
    spec: RunSpec
    metrics: dict
    result: CrossValidation


def resolve(method: str, rnn: str, profile: str = "default", seed: int = 0, folds: int = 8,
            device: str = "auto", data: str = "synthetic", assignments: list[str] | None = None) -> RunSpec:
    """Profile values + ``--set`` overrides, checked; ``data.KEY`` keys go to the synthetic generator."""
    runner = METHODS.get(method)
    RNNS.get(rnn)
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    if device not in DEVICES:
        raise ConfigError(f"unknown device {device!r}; valid: {', '.join(DEVICES)}")
    synthetic, train_keys = resolve_data(data, profile, assignments or [])
    train = build(runner.config_type, profile_values(method, profile, rnn), f"configs/{method}.yaml")
    train = override(train, train_keys)
    return RunSpec(method, rnn, profile, seed, folds, device, data, synthetic, train)


def resolve_data(data: str, profile: str, assignments: list[str]) -> tuple[SyntheticConfig | None, list[str]]:
    """The synthetic generator's settings (``data.KEY`` assignments applied; None for a dataset
    folder) and the remaining assignments."""
    data_keys = [a.removeprefix("data.") for a in assignments if a.startswith("data.")]
    rest = [a for a in assignments if not a.startswith("data.")]
    if data != "synthetic":
        if data_keys:
            raise ConfigError("--set data.KEY applies to --data synthetic only")
        return None, rest
    synthetic = build(SyntheticConfig, profile_values("synthetic", profile), "configs/synthetic.yaml")
    return override(synthetic, data_keys, "--set data."), rest


def open_dataset(spec: RunSpec, progress: Progress) -> Dataset:
    """The run's dataset, checked whole by ``data validate``'s checks before any training, so a
    broken file stops the run at once with the line ``validate`` would print, and checked to hold
    what the method needs (ratings, its input) before any fold is made."""
    runner = METHODS.get(spec.method)
    root = synthetic_dataset(spec.synthetic, runner.needs_frames, progress) if spec.synthetic else Path(spec.data)
    dataset = Dataset(root)
    check_trainable(dataset, validate(dataset), spec.method, runner.needs_frames)
    return dataset


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available")
    return torch.device(name)


def run(spec: RunSpec, out: Path | None = None, progress: Progress | None = None, *,
        labels: dict[str, str] | None = None) -> RunOutcome:
    """Train and evaluate ``spec`` with k-fold cross-validation; write and return the result folder.

    The output folder is claimed before any work starts (an unwritable or busy location fails at
    once) and appears only when the run is complete. ``labels`` (e.g. the benchmark runner's job key
    and axis values) go into run.json when given.
    """
    check_labels(labels)
    progress = progress or Progress(enabled=False)
    run_id = new_run_id(spec.method, spec.rnn)
    out = Path(out) if out is not None else Path("results") / run_id
    device = pick_device(spec.device)
    with atomic_dir(out, hint="choose another --out") as folder:
        started = now()
        with PeakMemory() as memory:
            dataset = open_dataset(spec, progress)
            splits = make_splits(dataset.ids, spec.folds, spec.seed, spec.train.stopping.val_participants)
            result = cross_validate(METHODS.get(spec.method), dataset, splits, spec.train, spec.rnn, spec.seed,
                                    device, progress)
        metrics = {**result.summary(), "efficiency": {**result.efficiency, "peak_rss_mb": memory.mb}}
        if result.privacy:
            metrics["privacy"] = result.privacy_summary()
        run_record = {
            "run_id": out.name, "kind": "train", "method": spec.method, "rnn": spec.rnn,
            "dataset": dataset.manifest.name, "dataset_path": str(dataset.root.resolve()), "seed": spec.seed,
            "profile": spec.profile, "device": str(device), "started": started, "finished": now(),
            "status": "complete", "notes": result.notes, "versions": versions(), "git_commit": git_commit(),
        }
        config = {**{k: v for k, v in dataclasses.asdict(spec).items() if k not in ("synthetic", "train")},
                  "synthetic": to_dict(spec.synthetic), "train": to_dict(spec.train)}
        write_result(folder, config, run_record, metrics, [f.row() for f in result.folds], updates=result.updates,
                     predictions=result.predictions, models=result.models, labels=labels)
    return RunOutcome(out, spec, metrics, result)
