"""What a privacy budget costs: CCC against the DP runs' epsilon (one line per method/head/privacy unit, on
a log axis), the undefended model of each method/head as a dashed reference."""

from __future__ import annotations

from statistics import mean, stdev

from privbench.report.document import Figure
from privbench.report.plots import COLOURS, png, pyplot
from privbench.report.records import DIMENSIONS, TrainRun


def epsilon_of(run: TrainRun) -> float | None:
    """The largest epsilon of a run's fold models (None: no DP)."""
    value = run.folder.metrics.get("privacy", {}).get("epsilon")
    return float(value) if value is not None else None


def unit_of(run: TrainRun) -> str:
    return str(run.folder.metrics.get("privacy", {}).get("unit", ""))


def budget_plot(trains: list[TrainRun]) -> Figure | None:
    """CCC (mean over folds and seeds, std as bars) of every DP run against its epsilon, per dimension."""
    private = [r for r in trains if epsilon_of(r) is not None]
    if not private:
        return None
    lines: dict[tuple[str, str, str], list[TrainRun]] = {}
    for run in private:
        lines.setdefault((run.method, run.head, unit_of(run)), []).append(run)
    plain = {(r.method, r.head): r for r in trains if epsilon_of(r) is None and r.defence == "none"}
    plt = pyplot()
    figure, axes = plt.subplots(1, len(DIMENSIONS), figsize=(10, 4.2), squeeze=False)
    for ax, dim in zip(axes[0], DIMENSIONS):
        for i, ((method, head, unit), runs) in enumerate(sorted(lines.items())):
            points = sorted((epsilon_of(r), r.ccc_folds(dim)) for r in runs)
            ax.errorbar([p[0] for p in points], [mean(p[1]) for p in points],
                        yerr=[stdev(p[1]) if len(p[1]) > 1 else 0 for p in points], fmt="o-", capsize=3,
                        color=COLOURS[i % len(COLOURS)], label=f"{method}/{head}, DP-SGD per {unit}")
            if (method, head) in plain:
                ax.axhline(mean(plain[(method, head)].ccc_folds(dim)), color=COLOURS[i % len(COLOURS)],
                           linestyle="--", linewidth=1, label=f"{method}/{head}, no DP")
        ax.axhline(0, color="grey", linewidth=1, label="constant predictor")
        ax.set_xscale("log")
        ax.set_xlabel("epsilon spent (largest fold; delta as run)")
        ax.set_ylabel(f"CCC {dim}")
        ax.set_title(f"CCC {dim} against the privacy budget", fontsize=10)
        ax.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    return png(figure, "privacy_budget", "CCC against epsilon: each DP-SGD run (mean ± std over folds), the "
                                         "undefended model dashed; the lower epsilon, the stronger the guarantee.")
