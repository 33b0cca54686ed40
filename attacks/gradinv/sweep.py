"""Attack success against one setting at a time: ``sweep: "batch=1,2,4;local_steps=1,5"`` reruns the attack
for each value (the other settings as configured, ``sweep_victims`` victims and ``sweep_iterations``
objective evaluations each), and tabulates and plots PSNR, SSIM and re-identification per value."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from privbench.attacks.shared.plots import pyplot
from privbench.errors import ConfigError

SWEEPABLE = ("batch", "local_steps", "seq_len", "frame_size", "lr", "optimizer", "batchnorm", "norm",
             "trained_steps")
Point = tuple[str, Any, Any]  # setting, value, the attack's settings at that value


def sweep_points(config: Any) -> list[Point]:
    """The settings of every point of ``config.sweep`` (checked: each point must be a valid attack)."""
    points = []
    for part in filter(None, (p.strip() for p in config.sweep.split(";"))):
        key, _, values = part.partition("=")
        key = key.strip()
        if key not in SWEEPABLE or not values:
            raise ConfigError(f"sweep {part!r}: write KEY=V1,V2,... with KEY one of {', '.join(SWEEPABLE)}")
        kind = type(getattr(config, key))
        for text in values.split(","):
            try:
                value = kind(text.strip())
            except ValueError:
                raise ConfigError(f"sweep {part!r}: {text.strip()!r} is not a valid {key}") from None
            points.append((key, value, dataclasses.replace(config, **{key: value}, victims=config.sweep_victims,
                                                           iterations=config.sweep_iterations, sweep="")))
    return points


def run_sweep(points: list[Point], attack: Callable[[Any], Any]) -> pd.DataFrame:
    """One row per point: the setting, its value and the mean scores of ``attack(settings)``."""
    rows = []
    for key, value, settings in points:
        scored = attack(settings)
        rows.append({"setting": key, "value": value, "victims": settings.victims,
                     "iterations": settings.iterations, **scored.summary["metrics"],
                     "mean_face_psnr": scored.summary["baseline"]["psnr"],
                     "chance_reid_rate": scored.summary["baseline"]["reid_rate"]})
    return pd.DataFrame(rows)


def plot_sweep(table: pd.DataFrame, path: Path) -> None:
    """sweep.png: PSNR (with the mean-face baseline) and re-identification against each swept setting."""
    plt = pyplot()
    settings = list(dict.fromkeys(table["setting"]))
    figure, axes = plt.subplots(2, len(settings), figsize=(3.6 * len(settings), 5.4), squeeze=False)
    for column, setting in enumerate(settings):
        part = table[table["setting"] == setting]
        labels = [str(v) for v in part["value"]]
        top, bottom = axes[0, column], axes[1, column]
        top.plot(labels, part["psnr"], "o-", label="reconstruction")
        top.plot(labels, part["mean_face_psnr"], "k--", label="mean face")
        top.set_ylabel("PSNR (dB)")
        top.set_title(setting)
        bottom.plot(labels, part["reid_rate"], "o-", label="re-identified")
        bottom.plot(labels, part["chance_reid_rate"], "k--", label="chance")
        bottom.set_ylim(-0.05, 1.05)
        bottom.set_ylabel("top-1 re-identification")
        bottom.set_xlabel(setting)
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
