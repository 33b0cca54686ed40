"""The report's own plots (matplotlib, Agg): the privacy-utility frontier, CCC per fold and seed, and
efficiency bars. Each returns a ``Figure`` (PNG bytes) or None when the inputs hold nothing to plot."""

from __future__ import annotations

import io
import math

from privbench.report.accuracy import EFFICIENCY, groups
from privbench.report.document import Figure, Table
from privbench.report.paper import paper_ccc
from privbench.report.privacy import Measure, all_measures
from privbench.report.records import DIMENSIONS, AttackRun, TrainRun

COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
           "tab:cyan")
# The attack success each frontier panel plots: (attack, metric suffix).
FRONTIER = (("reid", "top1"), ("demographics", "_balanced_accuracy"), ("gradinv", "reid_rate"), ("membership", "auc"))
BARS = ("train_seconds", "model_size_mb", "inference_seconds_per_100_frames", "peak_rss_mb")


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(figure, name: str, caption: str) -> Figure:
    """Render and close a matplotlib figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    pyplot().close(figure)
    return Figure(name, caption, buffer.getvalue())


def _panels(attacks: list[AttackRun]) -> dict[str, list[Measure]]:
    """Frontier panels by title, each with the measures it plots."""
    found: dict[str, list[Measure]] = {}
    for attack, metric in FRONTIER:
        for m in all_measures(attacks):
            if m.run.attack == attack and m.metric.endswith(metric):
                found.setdefault(f"{attack}: {m.label}", []).append(m)
    return found


def _reference_label(run: AttackRun) -> str:
    return f"{run.short_release} AU release (no model)" if run.on_au_release else f"{run.short_release} (no model)"


def _draw_panel(ax, title: str, rows: list[Measure], colours: dict[str, str]) -> None:
    xs = [0.0]
    for m in rows:
        low, high = m.interval or (m.value, m.value)
        if m.run.target is None:  # an attack without a model: a reference line, its interval shaded
            ax.axhline(m.value, color="dimgrey", linestyle=":", label=_reference_label(m.run))
            ax.axhspan(low, high, color="grey", alpha=0.12)
            continue
        target = m.run.target
        xs += [target.mean_ccc - target.ccc_std, target.mean_ccc + target.ccc_std]
        ax.errorbar([target.mean_ccc], [m.value], xerr=[[target.ccc_std], [target.ccc_std]],
                    yerr=[[max(m.value - low, 0)], [max(high - m.value, 0)]], fmt="o", capsize=3,
                    color=colours[target.label], label=f"{target.label} ({m.run.short_release})")
    for chance in sorted({m.baseline for m in rows if m.baseline is not None}):
        ax.axhline(chance, color="black", linestyle="--", linewidth=1, label=f"{rows[0].baseline_kind} {chance:.2f}")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("mean CCC (valence, arousal)")
    ax.set_ylabel("attack success")
    ax.set_xlim(min(xs) - 0.05, max(max(xs), 0.5) + 0.05)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)


def frontier(attacks: list[AttackRun], trains: list[TrainRun]) -> Figure | None:
    """Attack success against CCC: one point per attacked model (its CCC's std over folds and the attack's
    95% interval as bars); attacks without a model (the AU release, simulated rounds) as dotted lines."""
    panels = _panels(attacks)
    if not panels:
        return None
    labels = sorted({t.label for t in trains})
    colours = {label: COLOURS[i % len(COLOURS)] for i, label in enumerate(labels)}
    plt = pyplot()
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 5.0 * rows), squeeze=False)
    for ax, (title, measures) in zip(axes.flat, panels.items()):
        _draw_panel(ax, title, measures, colours)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    figure.tight_layout()
    return png(figure, "frontier", "Privacy-utility frontier: attack success (95% interval) against the attacked "
                                   "model's CCC (std over folds); dashed: the baseline; dotted: attacks without a "
                                   "model, their interval shaded.")


def ccc_per_fold(trains: list[TrainRun]) -> Figure | None:
    """Every fold's CCC of every seed, per method/head/defence, beside the paper's Table II."""
    found = groups(trains)
    if not found:
        return None
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(1.6 + 1.5 * len(found), 3.8))
    for i, (group, runs) in enumerate(found.items()):
        for j, dim in enumerate(DIMENSIONS):
            x = i + (j - 0.5) * 0.36
            values = [v for r in runs for v in r.ccc_folds(dim)]
            ax.boxplot([values], positions=[x], widths=0.28, showfliers=False, medianprops={"color": "black"})
            spread = [x + 0.06 * ((k % 5) - 2) for k in range(len(values))]
            ax.scatter(spread, values, s=14, color=COLOURS[j], zorder=3, label=dim if i == 0 else None)
            paper = paper_ccc(*group[:3])
            if paper:
                ax.scatter([x], [paper[j]], marker="x", s=40, color="black", zorder=4,
                           label="paper (RECOLA)" if i == 0 and j == 0 else None)
    ax.axhline(0, color="grey", linestyle="--", linewidth=1, label="constant predictor")
    ax.set_xticks(range(len(found)), [runs[0].label for runs in found.values()], rotation=15, fontsize=8)
    ax.set_ylabel("CCC per fold")
    ax.legend(fontsize=7, loc="best")
    figure.tight_layout()
    return png(figure, "ccc_folds", "CCC of every fold and seed (points; boxes over them), valence and arousal; "
                                    "x: the paper's Table II on RECOLA.")


def efficiency_bars(table: Table) -> Figure | None:
    """Training time, model size, inference time and memory per method/head/defence (the efficiency table)."""
    data = table.data
    present = [k for k in BARS if k in data and data[k].notna().any()]
    if not present or data.empty:
        return None
    plt = pyplot()
    labels = list(table.shown["model"])
    figure, axes = plt.subplots(1, len(present), figsize=(3.3 * len(present), 0.9 + 0.45 * len(labels)),
                                squeeze=False)
    for ax, key in zip(axes.flat, present):
        values = data[key].fillna(0.0)
        ax.barh(range(len(labels)), values, color=[COLOURS[i % len(COLOURS)] for i in range(len(labels))])
        ax.set_yticks(range(len(labels)), labels if ax is axes.flat[0] else [""] * len(labels), fontsize=8)
        positive = values[values > 0]
        if len(positive) > 1 and positive.max() / positive.min() > 50:
            ax.set_xscale("log")
        ax.set_title(EFFICIENCY[key], fontsize=9)
    figure.tight_layout()
    return png(figure, "efficiency", "Efficiency per method/head/defence (mean over seeds; log scale where "
                                     "values span more than 50x); a missing bar: not measured.")
