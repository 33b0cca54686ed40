"""Every metric a result folder can hold, with the direction that is better for the people being
protected and served: higher CCC, lower re-identification, lower epsilon, fewer seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from privbench.errors import ConfigError

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its name in metrics.json, which direction is better, its unit and meaning."""

    name: str
    better: Better
    unit: str
    description: str


def _specs(*rows: tuple[str, Better, str, str]) -> dict[str, MetricSpec]:
    return {name: MetricSpec(name, better, unit, description) for name, better, unit, description in rows}


METRICS: dict[str, MetricSpec] = _specs(
    # accuracy (train runs: metrics.json top level, per dimension)
    ("ccc", "higher", "", "concordance correlation coefficient, population moments"),
    ("pcc", "higher", "", "Pearson correlation"),
    ("rmse", "lower", "", "root mean squared error"),
    # efficiency (train runs: metrics.json "efficiency")
    ("train_seconds", "lower", "s", "wall time of all folds"),
    ("train_seconds_parallel", "lower", "s", "federated: slowest client + aggregation per round, summed"),
    ("train_seconds_per_client", "lower", "s", "federated: wall time / number of clients (the paper's FL time)"),
    ("train_frames_per_second", "higher", "frames/s", "training throughput"),
    ("seconds_per_epoch", "lower", "s", "mean epoch (or round) time"),
    ("inference_seconds_per_100_frames", "lower", "s", "one forward pass over 100 frames"),
    ("inference_seconds_per_500_frames", "lower", "s", "one forward pass over 500 frames"),
    ("model_size_mb", "lower", "MB", "serialised state dict"),
    ("parameters", "lower", "", "trainable and fixed parameters"),
    ("peak_rss_mb", "lower", "MB", "peak resident memory of the main process during the run"),
    ("bytes_up", "lower", "B", "federated: client-to-server traffic"),
    ("bytes_down", "lower", "B", "federated: server-to-client traffic"),
    ("rounds", "lower", "", "federated rounds run"),
    ("client_seconds", "lower", "s", "federated: summed client compute"),
    ("dropped_clients", "lower", "", "federated: client updates dropped (failed or late)"),
    # privacy accounting (metrics.json "privacy")
    ("epsilon", "lower", "", "differential-privacy budget spent"),
    ("delta", "lower", "", "differential-privacy failure probability"),
    # attacks (metrics.json "metrics"; higher attack success is worse for privacy)
    ("top1", "lower", "", "re-identification: top-1 accuracy"),
    ("top5", "lower", "", "re-identification: top-5 accuracy"),
    ("auc", "lower", "", "attack ROC AUC"),
    ("eer", "higher", "", "verification equal error rate"),
    ("tpr_at_1fpr", "lower", "", "attack true-positive rate at 1% false positives"),
    ("tpr_at_01fpr", "lower", "", "attack true-positive rate at 0.1% false positives"),
    ("epsilon_lower_bound", "lower", "", "membership audit: empirical lower bound on epsilon"),
    ("balanced_accuracy", "lower", "", "attribute inference: balanced accuracy"),
    ("p_value", "higher", "", "permutation test: chance of the attack's score without signal"),
    ("psnr", "lower", "dB", "gradient inversion: reconstruction PSNR"),
    ("ssim", "lower", "", "gradient inversion: reconstruction SSIM"),
    ("reid_rate", "lower", "", "gradient inversion: reconstructions re-identified"),
)


def direction(name: str) -> Better:
    """Which direction of metric ``name`` is better; ``<attribute>_<metric>`` names (demographics)
    use their metric's direction. Unknown names raise ``ConfigError`` listing the known ones."""
    for candidate in (name, *(name.split("_", i)[-1] for i in range(1, name.count("_") + 1))):
        if candidate in METRICS:
            return METRICS[candidate].better
    raise ConfigError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
