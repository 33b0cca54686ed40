"""The accuracy table (the paper's Table II) and the efficiency table (its Table III), one row per
method/head/defence/profile, pooled over seeds, the paper's numbers beside."""

from __future__ import annotations

from statistics import mean, stdev

import pandas as pd

from privbench.report.document import DASH, Table, mean_std, number, quantity
from privbench.report.paper import PAPER, paper_ccc, paper_efficiency
from privbench.report.records import DIMENSIONS, TrainRun

# metrics.json "efficiency" key -> column heading (shown); bytes are shown in MB.
EFFICIENCY = {
    "train_seconds": "training (s)",
    "train_seconds_parallel": "parallel training (s)",
    "train_seconds_per_client": "training / clients (s)",
    "model_size_mb": "model (MB)",
    "inference_seconds_per_100_frames": "inference, 100 frames (s)",
    "inference_seconds_per_500_frames": "inference, 500 frames (s)",
    "bytes_up": "sent up (MB)",
    "bytes_down": "sent down (MB)",
    "peak_rss_mb": "peak memory (MB)",
}
PAPER_EFFICIENCY = {"train_minutes": "paper: training (min)", "model_mb": "paper: model (MB)",
                    "inference_100_s": "paper: inference, 100 images (s)",
                    "inference_500_s": "paper: inference, 500 images (s)"}


def groups(trains: list[TrainRun]) -> dict[tuple[str, ...], list[TrainRun]]:
    """Train runs by (method, head, defence, profile, data set), in a stable order."""
    found: dict[tuple[str, ...], list[TrainRun]] = {}
    def order(run: TrainRun) -> tuple:
        method, head, defence, profile, data = run.group
        return method, head, defence != "none", defence, profile, data, run.seed if run.seed is not None else -1

    for run in sorted(trains, key=order):
        found.setdefault(run.group, []).append(run)
    return found


def _spread(values: list[float]) -> float | None:
    return stdev(values) if len(values) > 1 else None


def _accuracy_row(group: tuple[str, ...], runs: list[TrainRun]) -> dict:
    method, head, defence, profile, data = group
    row: dict = {"method": method, "head": head, "defence": defence, "profile": profile, "dataset": data,
                 "seeds": len({r.seed for r in runs}), "runs": len(runs),
                 "folds": " ".join(sorted({str(len(r.folder.folds)) for r in runs}, key=int))}
    for dim in DIMENSIONS:
        folds = [v for r in runs for v in r.ccc_folds(dim)]
        row[f"ccc_{dim}_mean"], row[f"ccc_{dim}_std"] = mean(folds), _spread(folds)
        row[f"ccc_{dim}_seed_std"] = _spread([mean(r.ccc_folds(dim)) for r in runs])  # runs: one per seed
    for dim in DIMENSIONS:
        row[f"rmse_{dim}_mean"] = mean(v for r in runs for v in r.folder.metrics["rmse"][dim]["folds"])
    for name in ("ccc", "rmse"):
        for dim in DIMENSIONS:
            values = [v for r in runs for v in r.folder.metrics.get("baseline", {}).get("constant", {})
                      .get(name, {}).get(dim, {}).get("folds", [])]
            row[f"constant_{name}_{dim}"] = mean(values) if values else None
    budgets = [r.folder.metrics.get("privacy", {}) for r in runs]
    row["epsilon"] = max((b["epsilon"] for b in budgets if "epsilon" in b), default=None)
    row["dp_unit"] = next((b["unit"] for b in budgets if "unit" in b), None)
    paper = paper_ccc(method, head, defence)
    row["paper_ccc_valence"], row["paper_ccc_arousal"] = paper if paper else (None, None)
    return row


def accuracy_table(trains: list[TrainRun]) -> Table:
    """CCC per method/head/defence: mean and std over every fold of every seed."""
    data = pd.DataFrame([_accuracy_row(g, runs) for g, runs in groups(trains).items()])
    shown = pd.DataFrame({
        "model": [runs[0].label for runs in groups(trains).values()],
        "profile": data["profile"], "seeds": data["seeds"], "folds": data["folds"],
        **{f"CCC {d}": [mean_std(m, s) for m, s in zip(data[f"ccc_{d}_mean"], data[f"ccc_{d}_std"])]
           for d in DIMENSIONS},
        **{f"CCC {d}, std over seeds": [number(v) for v in data[f"ccc_{d}_seed_std"]] for d in DIMENSIONS},
        **{f"RMSE {d} (constant)": [f"{number(m)} ({number(c)})" for m, c in
                                     zip(data[f"rmse_{d}_mean"], data[f"constant_rmse_{d}"])] for d in DIMENSIONS},
        "constant CCC": [number(c) for c in data["constant_ccc_valence"]],
        "ε (unit)": [DASH if pd.isna(e) else f"{number(e, 2)} ({u})" for e, u in zip(data["epsilon"], data["dp_unit"])],
        **{f"paper: CCC {d}": [number(v) for v in data[f"paper_ccc_{d}"]] for d in DIMENSIONS},
    })
    caption = ("Accuracy (the paper's Table II): CCC mean ± std over all folds of all seeds, and the std of the "
               "seeds' means (a dash with one seed); ε: the DP-SGD budget spent, the largest over folds and "
               "seeds, with its privacy unit (a dash: no DP); RMSE beside the "
               f"constant predictor's; the 'paper:' columns are {PAPER}, not this store's data.")
    return Table("accuracy", caption, data, shown)


def _efficiency_row(group: tuple[str, ...], runs: list[TrainRun]) -> dict:
    method, head, defence, profile, data = group
    row: dict = {"method": method, "head": head, "defence": defence, "profile": profile, "dataset": data,
                 "runs": len(runs)}
    for key in EFFICIENCY:
        values = [r.folder.metrics.get("efficiency", {})[key] for r in runs
                  if key in r.folder.metrics.get("efficiency", {})]
        row[key] = mean(values) if values else None
    paper = paper_efficiency(method, defence)
    row.update({f"paper_{k}": paper.get(k) for k in PAPER_EFFICIENCY})
    return row


def efficiency_table(trains: list[TrainRun]) -> Table:
    """Each efficiency metric of metrics.json, mean over seeds; a metric no run has is left out."""
    found = groups(trains)
    data = pd.DataFrame([_efficiency_row(g, runs) for g, runs in found.items()])
    data = data.drop(columns=[k for k in EFFICIENCY if data[k].isna().all()])
    shown = pd.DataFrame({"model": [runs[0].label for runs in found.values()], "profile": data["profile"]})
    for key, heading in EFFICIENCY.items():
        if key in data:
            scale = 1e-6 if key.startswith("bytes") else 1.0
            shown[heading] = [DASH if pd.isna(v) else quantity(v * scale) for v in data[key]]
    for key, heading in PAPER_EFFICIENCY.items():
        shown[heading] = [quantity(v) for v in data[f"paper_{key}"]]
    caption = ("Efficiency (the paper's Table III), mean over seeds; a dash where a method does not measure it. "
               f"The 'paper:' columns are {PAPER} (its FL time is total / clients: compare 'training / clients').")
    return Table("efficiency", caption, data, shown)
