"""The attacked run, read back: its released fold models (``privbench.results.models``), the training recipe
in its config.yaml, its privacy accounting (metrics.json ``privacy``) and, kept apart, who each fold model was
trained on. An ``au`` run keeps its fold models always; a run without them, or of another method, is refused
in one line before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from privbench.attacks.membership.threat import MembershipTruth, ReleasedModel, TrainingRecipe
from privbench.config import build
from privbench.data.windows import Normalizer
from privbench.errors import InputError
from privbench.results import ResultFolder, load_result
from privbench.results.models import FoldModel, load_fold_models

METHODS = ("au",)  # what the attack can rebuild and retrain (frame models: not built yet)


@dataclass(frozen=True)
class AttackedRun:
    """A train run as the membership harness holds it: the releases and recipe go to the attack, ``truth`` to
    the scorer, ``privacy`` (empty without DP) beside the audit."""

    folder: Path
    dataset_path: Path
    recipe: TrainingRecipe
    releases: list[ReleasedModel]
    truth: MembershipTruth
    privacy: dict[str, Any]
    delta: float


def _train_result(run: Path) -> ResultFolder:
    result = load_result(run)
    if result.kind != "train":
        raise InputError(f"{run}: an attack result; the membership attack reads a train run (privbench run)")
    if result.method not in METHODS:
        raise InputError(f"{run}: a {result.method} run; the membership attack reads {', '.join(METHODS)} runs "
                         "(rebuilding and retraining frame models is not built yet)")
    return result


def dataset_of(run: Path) -> str:
    """The dataset folder the run trained on, once the run is known to be attackable (an ``au`` train run that
    kept its fold models); else one-line ``InputError``."""
    result = _train_result(run)
    load_fold_models(run)
    path = result.run.get("dataset_path")
    if not path or not Path(path).is_dir():
        raise InputError(f"{run}/run.json: the run's dataset {path!r} is not there any more")
    return str(path)


def open_run(run: Path, people: list[str]) -> AttackedRun:
    """The run's releases, recipe, truth and accounting; ``people``: the dataset's participants (every fold
    model's participants must be among them)."""
    from privbench.methods.au import AUConfig

    result = _train_result(run)
    folds = load_fold_models(run)
    missing = sorted({p for f in folds for p in f.train + f.validation + f.test} - set(people))
    if missing:
        raise InputError(f"{run}: its fold models name {', '.join(missing[:3])}, not in the run's dataset")
    config = build(AUConfig, result.config["train"], f"{run}/config.yaml")
    recipe = TrainingRecipe(result.method, config, result.rnn)
    releases = [release(f, recipe) for f in folds]
    truth = MembershipTruth(members={f"fold {f.fold}": f.train for f in folds},
                            non_members={f"fold {f.fold}": f.test for f in folds},
                            excluded={f"fold {f.fold}": f.validation for f in folds})
    privacy = dict(result.metrics.get("privacy") or {})
    delta = float(privacy.get("delta", config.dp.delta))
    return AttackedRun(Path(run), Path(result.run["dataset_path"]), recipe, releases, truth, privacy, delta)


def release(fold: FoldModel, recipe: TrainingRecipe) -> ReleasedModel:
    """A fold model as released: the model rebuilt and loaded, its normaliser; no participant lists."""
    model = au_release_model(recipe, int(fold.preprocessing["mean"].numel()))
    try:
        model.load_state_dict(fold.state_dict)
    except RuntimeError as err:
        raise InputError(f"fold {fold.fold}'s model does not fit the run's config "
                         f"({str(err).splitlines()[0]})") from None
    normalizer = Normalizer(fold.preprocessing["mean"].numpy(), fold.preprocessing["std"].numpy())
    return ReleasedModel(f"fold {fold.fold}", model.eval(), normalizer, recipe.config.windows,
                         recipe.config.optim.loss)


def au_release_model(recipe: TrainingRecipe, features: int) -> torch.nn.Module:
    from privbench.train.setup import au_model

    config = recipe.config
    return au_model(features, recipe.rnn, config.head, dp_compatible=config.dp.enabled)
