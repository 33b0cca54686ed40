"""One training run end to end: resolve the config, get the data, cross-validate, write the result.

Resolving (privbench.experiment.spec) imports no torch and no data stack, so ``run`` checks its
settings and paths before it pays for them; running imports them where it starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from privbench.config import to_dict
from privbench.errors import ConfigError
from privbench.experiment.spec import DEVICES, OUT_HINT, RunSpec, check_before_run, resolve, resolve_data
from privbench.io import atomic_dir
from privbench.methods import METHODS
from privbench.progress import Progress

if TYPE_CHECKING:
    import torch

    from privbench.data.layout import Dataset
    from privbench.experiment.crossval import CrossValidation

__all__ = ["DEVICES", "RunOutcome", "RunSpec", "check_before_run", "open_dataset", "pick_device", "resolve",
           "resolve_data", "run"]


@dataclass(frozen=True)
class RunOutcome:
    path: Path
    spec: RunSpec
    metrics: dict
    result: CrossValidation


def open_dataset(spec: RunSpec, progress: Progress) -> Dataset:
    """The run's dataset, checked whole by ``data validate``'s checks before any training, so a
    broken file stops the run at once with the line ``validate`` would print, and checked to hold
    what the method needs (ratings, its input) before any fold is made."""
    from privbench.data.generate import synthetic_dataset
    from privbench.data.layout import Dataset
    from privbench.data.validate import check_trainable, validate

    runner = METHODS.get(spec.method)
    root = synthetic_dataset(spec.synthetic, runner.needs_frames, progress) if spec.synthetic else Path(spec.data)
    dataset = Dataset(root)
    check_trainable(dataset, validate(dataset), spec.method, runner.needs_frames)
    return dataset


def pick_device(name: str) -> torch.device:
    import torch

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
    from privbench.data.splits import make_splits
    from privbench.evaluate.efficiency import PeakMemory
    from privbench.experiment.crossval import cross_validate
    from privbench.results import check_labels, git_commit, new_run_id, now, versions, write_result

    check_labels(labels)
    progress = progress or Progress(enabled=False)
    run_id = new_run_id(spec.method, spec.rnn)
    out = Path(out) if out is not None else Path("results") / run_id
    device = pick_device(spec.device)
    with atomic_dir(out, hint=OUT_HINT) as folder:
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
