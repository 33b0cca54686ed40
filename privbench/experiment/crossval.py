"""k-fold participant-independent cross-validation of a method, with the constant baseline beside it
(the experiment layer: it drives a registered method over the folds)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from privbench.data.layout import DIMENSIONS, Dataset
from privbench.data.splits import Split
from privbench.errors import DivergedError
from privbench.evaluate import efficiency
from privbench.evaluate.metrics import ccc, pcc, rmse
from privbench.methods.base import FoldOutput, Method
from privbench.progress import Progress
from privbench.results.models import FoldModel
from privbench.types import ClientUpdate

METRICS = {"ccc": ccc, "pcc": pcc, "rmse": rmse}


@dataclass(frozen=True)
class FoldRecord:
    """Scores of one fold (a row of folds.csv)."""

    fold: int
    test: tuple[str, ...]
    scores: dict[str, dict[str, float]]  # metric -> dimension -> value
    constant: dict[str, dict[str, float]]  # the constant predictor's scores
    best_epoch: int
    epochs: int
    train_seconds: float
    seconds_per_epoch: float
    frames_per_second: float

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"fold": self.fold, "test_participants": " ".join(self.test)}
        for prefix, table in (("", self.scores), ("constant_", self.constant)):
            for metric, values in table.items():
                row.update({f"{prefix}{metric}_{dim}": round(v, 6) for dim, v in values.items()})
        row.update(best_epoch=self.best_epoch, epochs=self.epochs, train_seconds=round(self.train_seconds, 3),
                   seconds_per_epoch=round(self.seconds_per_epoch, 3), train_frames_per_second=round(self.frames_per_second, 1))
        return row


@dataclass(frozen=True)
class CrossValidation:
    folds: list[FoldRecord]
    efficiency: dict[str, float]
    notes: dict[str, str]
    updates: list[ClientUpdate]
    predictions: pd.DataFrame  # out-of-fold predictions: predictions.csv
    models: list[FoldModel]  # each fold's model, when the config keeps them (save_models)
    privacy: list[dict[str, Any]]  # each fold model's DP accounting (empty without DP)

    def privacy_summary(self) -> dict[str, Any]:
        """metrics.json's ``privacy``: every fold's accounting and the largest epsilon (each fold model is its
        own release); empty without DP."""
        if not self.privacy:
            return {}
        worst = max(self.privacy, key=lambda p: p.get("epsilon", 0.0))  # secure aggregation alone: no epsilon
        summary = {**{k: v for k, v in worst.items() if k != "fold"}, "folds": self.privacy}
        errors = [p["secagg"]["max_abs_error"] for p in self.privacy if "secagg" in p]
        if errors and all(isinstance(e, float) for e in errors):  # SecAgg+'s measured error: the largest fold's
            summary["secagg"] = {**summary["secagg"], "max_abs_error": max(errors)}
        return summary

    def summary(self) -> dict[str, Any]:
        """metrics.json's accuracy part: per metric and dimension, mean, std (ddof=1) and folds."""
        def aggregate(key: str) -> dict:
            return {
                metric: {dim: _stats([getattr(f, key)[metric][dim] for f in self.folds]) for dim in DIMENSIONS}
                for metric in METRICS
            }
        return {**aggregate("scores"), "baseline": {"constant": aggregate("constant")}}


def _stats(values: list[float]) -> dict[str, Any]:
    array = np.asarray(values)
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "folds": [float(v) for v in array]}


def score(labels: np.ndarray, predictions: np.ndarray) -> dict[str, dict[str, float]]:
    return {
        name: dict(zip(DIMENSIONS, (float(v) for v in fn(labels, predictions))))
        for name, fn in METRICS.items()
    }


def training_mean(dataset: Dataset, split: Split) -> np.ndarray:
    """The constant predictor: the gold standard's mean over the fold's training participants."""
    gold = [dataset.ratings(pid)[list(DIMENSIONS)].to_numpy(float) for pid in split.train + split.validation]
    return np.concatenate(gold).mean(0)


def check_predictions(predictions: np.ndarray, split: Split) -> None:
    """A fold whose test predictions are not all finite diverged: it has no score."""
    bad = ~np.isfinite(predictions)
    if bad.any():
        raise DivergedError(
            f"fold {split.fold + 1}: training diverged ({int(bad.sum())} non-finite test predictions for "
            f"{', '.join(split.test)}); nothing was written")


def prediction_table(dataset: Dataset, fold: int, output: FoldOutput, test: tuple[str, ...]) -> pd.DataFrame:
    """One fold's out-of-fold predictions beside the gold standard, one row per frame of each test participant."""
    tables = []
    for pid in test:
        table = pd.DataFrame({"participant": pid, "fold": fold, "timestamp": dataset.timestamps(pid)})
        for d, dim in enumerate(DIMENSIONS):
            table[f"{dim}_predicted"] = output.predictions[pid][:, d]
            table[f"{dim}_gold"] = output.labels[pid][:, d]
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def cross_validate(
    method: Method, dataset: Dataset, splits: list[Split], config: Any, rnn: str, seed: int,
    device: torch.device, progress: Progress,
) -> CrossValidation:
    """Train and test every fold; efficiency is measured on the last fold's model."""
    records, output, total_seconds = [], None, 0.0
    extras: dict[str, float] = {}  # method-specific measurements, summed over folds
    updates: list[ClientUpdate] = []
    predicted: list[pd.DataFrame] = []
    models: list[FoldModel] = []
    privacy: list[dict[str, Any]] = []
    task = progress.add("folds", total=len(splits))
    for split in splits:
        start = time.perf_counter()
        try:
            output: FoldOutput = method.train_fold(dataset, split, config, rnn, seed * 1000 + split.fold, device,
                                                   progress)
        except DivergedError as err:
            raise DivergedError(f"fold {split.fold + 1} of {len(splits)}: {err}; nothing was written") from None
        seconds = time.perf_counter() - start
        total_seconds += seconds
        labels = np.concatenate([output.labels[p] for p in split.test])
        predictions = np.concatenate([output.predictions[p] for p in split.test])
        check_predictions(predictions, split)
        predicted.append(prediction_table(dataset, split.fold, output, split.test))
        constant = np.broadcast_to(training_mean(dataset, split), labels.shape)
        history = output.history
        for key, value in output.efficiency.items():
            extras[key] = extras.get(key, 0) + value
        updates += [dataclasses.replace(u, fold=split.fold) for u in output.updates]
        if getattr(config, "save_models", False):
            models.append(fold_model(split, output))
        if output.privacy:
            privacy.append({"fold": split.fold, **output.privacy})
        records.append(FoldRecord(
            split.fold, split.test, score(labels, predictions), score(labels, constant),
            history.best_epoch + 1, len(history.train_loss), seconds, float(np.mean(history.epoch_seconds)),
            history.frames_seen / max(sum(history.epoch_seconds), 1e-9),
        ))
        progress.advance(task, description=f"fold {split.fold + 1}/{len(splits)} done")
    progress.remove(task)
    assert output is not None
    model = output.model
    measures = {
        "train_seconds": total_seconds,
        "train_frames_per_second": float(np.mean([r.frames_per_second for r in records])),
        "seconds_per_epoch": float(np.mean([r.seconds_per_epoch for r in records])),
        "inference_seconds_per_100_frames": efficiency.inference_seconds(model, output.example_input, 100, device),
        "inference_seconds_per_500_frames": efficiency.inference_seconds(model, output.example_input, 500, device),
        "model_size_mb": efficiency.model_size_mb(model),
        "parameters": efficiency.parameter_count(model),
        **extras,
    }
    return CrossValidation(records, measures, output.notes, updates, pd.concat(predicted, ignore_index=True),
                           models, privacy)


def fold_model(split: Split, output: FoldOutput) -> FoldModel:
    return FoldModel(fold=split.fold, state_dict=output.model.state_dict(), preprocessing=output.preprocessing,
                     train=split.train, validation=split.validation, test=split.test)
