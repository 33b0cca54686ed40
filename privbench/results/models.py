"""A run's released fold models: ``models/fold_<k>.pt``, one per fold, each the model's weights, the input
preprocessing fitted with it and the participants it was trained on (what the membership attack reads; only
its judge looks at the participant lists). Read back with ``torch.load(weights_only=True)``: a model file
never runs code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from privbench.errors import InputError

MODELS_FORMAT = "privbench.fold-model"
MODELS_VERSION = 1
MODELS_DIR = "models"
StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True, kw_only=True)
class FoldModel:
    """One fold's released model: ``state_dict``, its input ``preprocessing`` (e.g. the AU normaliser's
    ``mean`` and ``std``) and the fold's ``train`` / ``validation`` / ``test`` participants."""

    fold: int
    state_dict: StateDict
    preprocessing: StateDict
    train: tuple[str, ...]
    validation: tuple[str, ...]
    test: tuple[str, ...]


def model_path(folder: Path, fold: int) -> Path:
    return Path(folder) / MODELS_DIR / f"fold_{fold}.pt"


def save_fold_models(folder: Path, models: list[FoldModel]) -> None:
    """Write each fold's model into ``folder/models/`` (the claimed work folder of a run)."""
    (Path(folder) / MODELS_DIR).mkdir()
    for model in models:
        torch.save({"format": MODELS_FORMAT, "version": MODELS_VERSION, "fold": int(model.fold),
                    "state_dict": {k: v.detach().cpu() for k, v in model.state_dict.items()},
                    "preprocessing": {k: torch.as_tensor(v) for k, v in model.preprocessing.items()},
                    **{part: [str(p) for p in getattr(model, part)] for part in ("train", "validation", "test")}},
                   model_path(folder, model.fold))


def load_fold_models(folder: Path) -> list[FoldModel]:
    """Every fold model of the run in ``folder``, in fold order; a run without them, or a missing, foreign,
    newer or malformed file, raises ``InputError`` naming it."""
    root = Path(folder) / MODELS_DIR
    paths = sorted(root.glob("fold_*.pt"), key=lambda p: int(p.stem.removeprefix("fold_") or -1)) \
        if root.is_dir() else []
    if not paths:
        raise InputError(f"{folder}: the run kept no fold models (models/fold_<k>.pt); rerun it with "
                         "--set save_models=true")
    models = [_load(path) for path in paths]
    if [m.fold for m in models] != list(range(len(models))):
        raise InputError(f"{root}: fold models {[m.fold for m in models]} are not folds 0..{len(models) - 1}")
    return models


def _load(path: Path) -> FoldModel:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds on a truncated or foreign file
        raise InputError(f"{path}: not a readable fold model ({type(err).__name__}: {err})".split("\n")[0]) from None
    if not isinstance(payload, dict) or payload.get("format") != MODELS_FORMAT:
        raise InputError(f"{path}: not a privbench fold model")
    if payload.get("version") != MODELS_VERSION:
        raise InputError(f"{path}: fold-model format version {payload.get('version')}; this privbench reads "
                         f"version {MODELS_VERSION}")
    weights = payload["state_dict"]
    bad = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise InputError(f"{path}: non-finite weights in {', '.join(bad[:3])}")
    if str(payload["fold"]) != path.stem.removeprefix("fold_"):
        raise InputError(f"{path}: holds fold {payload['fold']}")
    return FoldModel(fold=int(payload["fold"]), state_dict=weights, preprocessing=payload["preprocessing"],
                     train=tuple(payload["train"]), validation=tuple(payload["validation"]),
                     test=tuple(payload["test"]))


__all__ = ["FoldModel", "load_fold_models", "model_path", "save_fold_models"]
