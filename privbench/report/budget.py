"""What a privacy budget costs and buys: CCC against the DP runs' epsilon (one line per method/head/privacy
unit, on a log axis), and the membership audit of those runs against the same epsilon; the undefended
model of each method/head as a dashed reference."""

from __future__ import annotations

from statistics import mean, stdev

from privbench.report.document import Figure
from privbench.report.plots import COLOURS, png, pyplot
from privbench.report.records import DIMENSIONS, AttackRun, TrainRun


def epsilon_of(run: TrainRun) -> float | None:
    """The largest epsilon of a run's fold models (None: no DP)."""
    value = run.folder.metrics.get("privacy", {}).get("epsilon")
    return float(value) if value is not None else None


def unit_of(run: TrainRun) -> str:
    return str(run.folder.metrics.get("privacy", {}).get("unit", ""))


def epsilon_axis(ax, epsilons: list[float]) -> None:
    """A log axis ticked at the epsilons spent, in plain numbers."""
    from matplotlib.ticker import NullFormatter, NullLocator

    ax.set_xscale("log")
    ticks = sorted({float(f"{e:.2g}") for e in epsilons})  # 7.99 and 8.0 are one tick
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


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
    references = sorted({(method, head) for method, head, _ in lines} & set(plain))
    for ax, dim in zip(axes[0], DIMENSIONS):
        for i, ((method, head, unit), runs) in enumerate(sorted(lines.items())):
            points = sorted((epsilon_of(r), r.ccc_folds(dim)) for r in runs)
            ax.errorbar([p[0] for p in points], [mean(p[1]) for p in points],
                        yerr=[stdev(p[1]) if len(p[1]) > 1 else 0 for p in points], fmt="o-", capsize=3,
                        color=COLOURS[i % len(COLOURS)], label=f"{method}/{head}, DP-SGD per {unit}")
        for j, (method, head) in enumerate(references):
            ax.axhline(mean(plain[(method, head)].ccc_folds(dim)), color="black", linestyle=("--", "-.", ":")[j % 3],
                       linewidth=1, label=f"{method}/{head}, no DP")
        ax.axhline(0, color="grey", linewidth=1, label="constant predictor")
        epsilon_axis(ax, [epsilon_of(r) for r in private])
        ax.set_xlabel("epsilon spent (largest fold; delta as run)")
        ax.set_ylabel(f"CCC {dim}")
        ax.set_title(f"CCC {dim} against the privacy budget", fontsize=10)
        ax.legend(fontsize=7, frameon=False)
    figure.tight_layout()
    return png(figure, "privacy_budget", "CCC against epsilon: each DP-SGD run (mean ± std over folds), the "
                                         "undefended model dashed; the lower epsilon, the stronger the guarantee.")


def audit_plot(attacks: list[AttackRun]) -> Figure | None:
    """Membership AUC and the audit's epsilon lower bound against the accountant's epsilon of each attacked
    DP run (one line per privacy unit); the undefended run's values dashed, the bound's ceiling (y = x) dotted."""
    audited = [a for a in attacks if a.attack == "membership" and a.target is not None]
    private = [a for a in audited if epsilon_of(a.target) is not None]
    if not private:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.2), squeeze=False)
    units = sorted({unit_of(a.target) for a in private})
    for ax, metric, label in zip(axes[0], ("auc", "epsilon_lower_bound"), ("membership AUC", "epsilon lower bound")):
        for i, unit in enumerate(units):
            points = sorted((epsilon_of(a.target), a) for a in private if unit_of(a.target) == unit)
            xs = [x for x, _ in points]
            ys = [a.value(metric) for _, a in points]
            bounds = [a.interval(metric) or (y, y) for (_, a), y in zip(points, ys)]
            ax.errorbar(xs, ys, yerr=[[y - b[0] for y, b in zip(ys, bounds)], [b[1] - y for y, b in zip(ys, bounds)]],
                        fmt="o-", capsize=3, color=COLOURS[i % len(COLOURS)], label=f"DP-SGD per {unit}")
        for a in audited:
            if epsilon_of(a.target) is None and a.value(metric) is not None:
                ax.axhline(a.value(metric), color="black", linestyle="--", linewidth=1,
                           label=f"{a.target.label}, no DP")
        if metric == "auc":
            ax.axhline(0.5, color="grey", linewidth=1, label="chance")
        else:
            span = [min(epsilon_of(a.target) for a in private), max(epsilon_of(a.target) for a in private)]
            ax.plot(span, span, color="grey", linestyle=":", linewidth=1, label="accountant's epsilon (ceiling)")
        epsilon_axis(ax, [epsilon_of(a.target) for a in private])
        ax.set_xlabel("accountant's epsilon (largest fold)")
        ax.set_ylabel(label)
        ax.set_title(f"{label} against the privacy budget", fontsize=10)
        ax.legend(fontsize=7, frameon=False, loc="best")
    figure.tight_layout()
    return png(figure, "membership_audit", "The membership audit of the DP runs: the best attack's AUC (95% interval) "
                                           "and the empirical epsilon lower bound against the accountant's epsilon; "
                                           "a bound is comparable with the accountant only under the participant unit.")
