"""Attack success against one setting at a time: ``sweep: "batch=1,2,4;local_steps=1,5"`` reruns the attack
for each value (the other settings as configured, ``sweep_victims`` victims and ``sweep_iterations``
objective evaluations each), and tabulates and plots PSNR, SSIM and re-identification per value.

The defences sweep too: ``secagg_clients`` (k, the clients of a secure sum, under ``--secure-aggregation``),
``dp.epsilon``, ``dp.mode`` and ``dp.max_grad_norm`` (with DP on, ``--dp-epsilon``). A key is written as in
configs/gradinv.yaml and ``--set``, and each point is the configuration ``--set KEY=VALUE`` would give
(``privbench.config.override``: grouped and dotted keys resolved, the value typed and every check run)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from privbench.attacks.shared.plots import pyplot
from privbench.config import override, to_dict
from privbench.errors import ConfigError

SWEEPABLE = ("batch", "local_steps", "seq_len", "frame_size", "lr", "optimizer", "batchnorm", "norm",
             "trained_steps", "secagg_clients", "dp.epsilon", "dp.mode", "dp.max_grad_norm")
# the defence keys, each with what must be on for it to vary anything, and the option that turns it on
DEFENCE_KEYS = {"secagg_clients": (lambda config: config.secagg.enabled, "--secure-aggregation"),
                **{key: (lambda config: config.dp.enabled, "--dp-epsilon E")
                   for key in ("dp.epsilon", "dp.mode", "dp.max_grad_norm")}}
Point = tuple[str, Any, Any]  # setting, value, the attack's settings at that value


def sweep_points(config: Any) -> list[Point]:
    """The settings of every point of ``config.sweep`` (checked: each point must be a valid attack)."""
    points = []
    for part in filter(None, (p.strip() for p in config.sweep.split(";"))):
        key, _, values = part.partition("=")
        key = key.strip()
        if key not in SWEEPABLE or not values:
            raise ConfigError(f"sweep {part!r}: write KEY=V1,V2,... with KEY one of {', '.join(SWEEPABLE)}")
        enabled, option = DEFENCE_KEYS.get(key, (lambda _: True, ""))
        if not enabled(config):
            raise ConfigError(f"sweep {part!r}: {key} varies a defence that is off; add {option}")
        base = dataclasses.replace(config, victims=config.sweep_victims, iterations=config.sweep_iterations, sweep="")
        for text in (t.strip() for t in values.split(",")):
            settings = point_settings(base, key, text)
            points.append((key, setting_value(settings, key), settings))
    return points


def point_settings(base: Any, key: str, text: str) -> Any:
    """``base`` with ``--set key=text``, checked as a whole attack; a bad value is one ConfigError line."""
    where = f"sweep {key}={text}"
    try:
        return override(base, [f"{key}={text}"], where=where)
    except ConfigError as err:
        raise ConfigError(str(err) if str(err).startswith(where) else f"{where}: {err}") from None


def setting_value(settings: Any, key: str) -> Any:
    """The value of ``key`` (as written in YAML: ``secagg_clients``, ``dp.epsilon``) in ``settings``."""
    value = to_dict(settings)
    for name in key.split("."):
        value = value[name]
    return value


def run_sweep(points: list[Point], attack: Callable[[Any], tuple[Any, dict]]) -> pd.DataFrame:
    """One row per point: the setting, its value, the clients attacked (under secure aggregation the k of the
    sum), the defence's mechanism and local noise, and the mean scores of ``attack(settings)`` (the scores and
    the round's details, as ``run.attack_once`` returns them)."""
    rows = []
    for key, value, settings in points:
        scored, details = attack(settings)
        defence = details["defence"]
        rows.append({"setting": key, "value": value, "victims": len(scored.participant_id) // settings.batch,
                     "iterations": settings.iterations, "mechanism": defence["mechanism"],
                     "noise_std": defence.get("noise_std", 0.0), **scored.summary["metrics"],
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
