"""The privacy table: every attack's success per release and target, with its 95% interval against its
baseline (chance, the majority class, or the mean face), and which side of the baseline it lies on."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from privbench.errors import ConfigError
from privbench.report.document import DASH, Table, number, with_interval
from privbench.report.records import AttackRun
from privbench.results import direction

REID = (("top1", "top-1"), ("top5", "top-5"), ("auc", "verification AUC"))
GRADINV = (("psnr", "PSNR (dB)"), ("ssim", "SSIM"), ("reid_rate", "re-identified"))
MEMBERSHIP = (("auc", "AUC"), ("tpr_at_1fpr", "TPR at 1% FPR"), ("epsilon_lower_bound", "epsilon lower bound"))
ABOVE, AT, BELOW = "above", "at", "below"
ATTACKS = ("reid", "demographics", "gradinv", "membership")


@dataclass(frozen=True)
class Measure:
    """One attack metric of one attack folder, beside its baseline."""

    run: AttackRun
    metric: str
    label: str
    baseline_kind: str

    @property
    def value(self) -> float | None:
        return self.run.value(self.metric)

    @property
    def interval(self) -> tuple[float, float] | None:
        return self.run.interval(self.metric)

    @property
    def baseline(self) -> float | None:
        return self.run.baseline(self.metric)

    @property
    def p_value(self) -> float | None:
        """The permutation p-value (demographics: ``<attribute>_p_value``)."""
        return self.run.value(self.metric.replace("_balanced_accuracy", "_p_value")) \
            if self.metric.endswith("_balanced_accuracy") else None

    @property
    def side(self) -> str | None:
        """Where the 95% interval lies against the baseline: above, at (contains it) or below; None without one."""
        if self.interval is None or self.baseline is None:
            return None
        low, high = self.interval
        return ABOVE if low > self.baseline else BELOW if high < self.baseline else AT


def attributes(run: AttackRun) -> list[str]:
    """The scored attributes of a demographics attack (participant level), in metrics.json order."""
    suffix = "_balanced_accuracy"
    return [k[: -len(suffix)] for k in run.folder.metrics.get("metrics", {})
            if k.endswith(suffix) and not k.endswith("_window" + suffix)]


def measures(run: AttackRun) -> list[Measure]:
    """The headline metrics of one attack; of an attack the report does not know, each attack-success metric."""
    if run.attack == "reid":
        return [Measure(run, m, label, "chance") for m, label in REID if run.value(m) is not None]
    if run.attack == "demographics":
        return [Measure(run, f"{a}_{m}", f"{a} {label}", "majority") for a in attributes(run)
                for m, label in (("balanced_accuracy", "balanced accuracy"), ("auc", "AUC"))]
    if run.attack == "gradinv":
        return [Measure(run, m, label, "chance" if m == "reid_rate" else "mean face") for m, label in GRADINV
                if run.value(m) is not None]
    if run.attack == "membership":
        return [Measure(run, m, label, "chance") for m, label in MEMBERSHIP if run.value(m) is not None]
    return [Measure(run, m, m, "baseline") for m in run.folder.metrics.get("metrics", {}) if _success(m)]


def _success(name: str) -> bool:
    """A metric of another attack counts when it measures attack success (lower is better for people)."""
    try:
        return direction(name) == "lower"
    except ConfigError:
        return False


def _order(run: AttackRun) -> tuple:
    rank = ATTACKS.index(run.attack) if run.attack in ATTACKS else len(ATTACKS)
    return rank, not run.on_au_release, run.target_label, run.release, str(run.folder.path)


def all_measures(attacks: list[AttackRun]) -> list[Measure]:
    return [m for run in sorted(attacks, key=_order) for m in measures(run)]


def privacy_table(attacks: list[AttackRun]) -> Table:
    """One row per attack folder and metric."""
    rows = all_measures(attacks)
    data = pd.DataFrame([{
        "attack": m.run.attack, "release": m.run.release, "target": m.run.target_label, "defence": m.run.defence,
        "seed": m.run.folder.run.get("seed"), "dataset": m.run.folder.run.get("dataset"), "metric": m.metric, "value": m.value,
        "ci95_low": m.interval[0] if m.interval else None, "ci95_high": m.interval[1] if m.interval else None,
        "baseline": m.baseline, "baseline_kind": m.baseline_kind, "p_value": m.p_value, "side": m.side,
        "folder": str(m.run.folder.path)} for m in rows],
        columns=["attack", "release", "target", "defence", "seed", "dataset", "metric", "value", "ci95_low", "ci95_high",
                 "baseline", "baseline_kind", "p_value", "side", "folder"])
    shown = pd.DataFrame({
        "attack": [m.run.attack for m in rows], "release": [m.run.release for m in rows],
        "target": [m.run.target_label for m in rows], "defence": [m.run.defence for m in rows],
        "metric": [m.label for m in rows],
        "attack success (95% interval)": [with_interval(m.value, m.interval) for m in rows],
        "baseline": [f"{number(m.baseline)} ({m.baseline_kind})" for m in rows],
        "p": [DASH if m.p_value is None else number(m.p_value) for m in rows],
        "vs baseline": [m.side or DASH for m in rows],
    })
    caption = ("Privacy: each attack's success with its 95% interval (metrics.json ci95) against its baseline "
               "(chance for re-identification and membership, the majority class for demographics, the mean face "
               "for reconstructions); 'vs baseline' says where the interval lies.")
    return Table("privacy", caption, data, shown)
