"""The AU-level frontier: what each release transform costs (au CCC) and buys (re-identification top-1,
demographic balanced accuracy), one point per transform and strength, beside the raw release and the
predictions release (docs/defences.md). Shown where the inputs hold an ``au`` run on a transformed release.

A point is an ``au`` train run (its release from its config.yaml ``train``: ``release`` and that
transform's own settings) and the attacks on the release it trained on (``reid`` / ``demographics`` with
``--from-run`` and ``release=run``: the benchmark's ``reid_release`` and ``demographics_release``).
Runs of several seeds at one strength are pooled: mean values, mean interval bounds. The reid number is
the strongest adaptive attacker's (metrics.json ``top1``); the fixed attacker, where the attack scored one,
is listed beside it as the weaker one.
"""

from __future__ import annotations

import pandas as pd

from privbench.report.document import DASH, Block, Table, number, with_interval
from privbench.report.plots import COLOURS, png, pyplot
from privbench.report.privacy import attributes
from privbench.report.records import AttackRun, TrainRun

REFERENCES = ("raw", "predictions")


def release_of(run: TrainRun) -> tuple[str, dict]:
    """The transform an au run trained on and its own settings (a run from before transforms: raw)."""
    train = run.folder.config.get("train") or {}
    name = str(train.get("release", "raw"))
    own = train.get(name)
    return name, dict(own) if isinstance(own, dict) else {}


def _demographics(attack: AttackRun) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for name in attributes(attack):
        key = f"{name}_balanced_accuracy"
        interval = attack.interval(key)
        found.update({key: attack.value(key), f"{key}_low": interval[0] if interval else None,
                      f"{key}_high": interval[1] if interval else None, f"{key}_chance": attack.baseline(key)})
    return found


def _attack_row(attack: AttackRun) -> dict:
    if attack.attack == "demographics":
        return _demographics(attack)
    low, high = attack.interval("top1") or (None, None)
    privacy = attack.threat.get("release_privacy") or {}
    return {"reid_top1": attack.value("top1"), "reid_low": low, "reid_high": high, "chance": attack.baseline("top1"),
            "attacker": attack.threat.get("headline_attacker", "retrained"), "fixed_top1": attack.value("fixed_top1"),
            "epsilon_participant": privacy.get("epsilon_participant")}


def _point(run: TrainRun, transform: str, settings: dict) -> dict:
    ccc = run.folder.metrics["ccc"]
    return {"dataset": str(run.folder.run.get("dataset", "?")), "data": run.data, "transform": transform,
            "settings": settings, "seed": run.seed, "ccc_valence": ccc["valence"]["mean"],
            "ccc_valence_std": ccc["valence"]["std"], "ccc_arousal": ccc["arousal"]["mean"],
            "ccc_arousal_std": ccc["arousal"]["std"], "folder": str(run.folder.path)}


def points(trains: list[TrainRun], attacks: list[AttackRun]) -> pd.DataFrame:
    """One row per au run and what attacked its release (the predictions release: a row of its own)."""
    rows: dict[tuple[str, str], dict] = {}
    for attack in attacks:
        run = attack.target
        if attack.attack not in ("reid", "demographics") or run is None or run.method != "au":
            continue
        transform, settings = release_of(run)
        kind = "predictions" if attack.release == "predictions" else transform
        if kind == "predictions" and transform != "raw":
            continue  # the predictions reference is the undefended model's
        row = rows.setdefault((run.folder.path.name, kind), _point(run, kind, settings if kind != "predictions" else {}))
        row.update(_attack_row(attack))
    table = pd.DataFrame(list(rows.values()))
    if table.empty or "reid_top1" not in table:
        return pd.DataFrame()
    table["strength"] = _strengths(table)
    return table


def _strengths(table: pd.DataFrame) -> list[str]:
    """A short label of each row's strength: the settings that vary among its transform's rows."""
    labels = []
    for _, row in table.iterrows():
        same = table[table["transform"] == row["transform"]]["settings"]
        varying = [k for k in row["settings"] if len({str(s.get(k)) for s in same}) > 1] or list(row["settings"])[:1]
        labels.append(", ".join(f"{k}={row['settings'][k]:g}" if isinstance(row["settings"][k], float)
                                else f"{k}={row['settings'][k]}" for k in varying))
    return labels


def pooled(table: pd.DataFrame) -> pd.DataFrame:
    """Seeds pooled: one row per data set, transform and strength (mean of every number)."""
    keys = ["dataset", "data", "transform", "strength"]
    numbers = [c for c in table.columns if c not in (*keys, "settings", "seed", "folder", "attacker")]
    grouped = table.groupby(keys, sort=False, dropna=False)
    out = grouped[numbers].mean(numeric_only=True).reset_index()
    out["attacker"] = grouped["attacker"].agg(lambda v: "/".join(sorted({str(x) for x in v if pd.notna(x)}))).to_numpy()
    out["seeds"] = grouped["seed"].count().to_numpy()
    return out


def frontier_table(table: pd.DataFrame) -> Table:
    demographic = [c for c in table.columns if c.endswith("_balanced_accuracy")]
    shown = pd.DataFrame({
        "data": table["data"].replace("", DASH) if table["data"].astype(bool).any() else DASH,
        "release": table["transform"], "strength": table["strength"].replace("", DASH),
        "CCC valence": [f"{number(m)} ± {number(s)}" for m, s in zip(table["ccc_valence"], table["ccc_valence_std"])],
        "CCC arousal": [f"{number(m)} ± {number(s)}" for m, s in zip(table["ccc_arousal"], table["ccc_arousal_std"])],
        "reid top-1 (95%)": [with_interval(v, (lo, hi)) for v, lo, hi in
                             zip(table["reid_top1"], table["reid_low"], table["reid_high"])],
        "chance": [number(c) for c in table["chance"]],
        "attacker": table["attacker"],
        "fixed attacker (weaker)": [number(v) if pd.notna(v) else DASH for v in table.get("fixed_top1", [None] * len(table))],
        **{c.removesuffix("_balanced_accuracy") + " bal. acc. (95%)":
           [with_interval(v, (lo, hi)) if pd.notna(v) else DASH
            for v, lo, hi in zip(table[c], table[f"{c}_low"], table[f"{c}_high"])] for c in demographic},
        "participant epsilon": [number(v, 1) if pd.notna(v) else DASH
                                for v in table.get("epsilon_participant", [None] * len(table))],
    })
    caption = ("AU release transforms: au CCC (mean ± std over folds) against re-identification top-1 from the "
               "same release (the strongest adaptive attacker, retrained on the transformed references; 'population': "
               "one trained on the privatiser's output of its own population) and demographic balanced accuracy; "
               "the fixed attacker ignores the transform (weaker); participant epsilon: ldp composed over a "
               "participant's windows.")
    return Table("release_frontier", caption, table, shown)


def _draw(ax, table: pd.DataFrame, x: str, label: str) -> None:
    for i, (transform, rows) in enumerate(table[~table["transform"].isin(REFERENCES)].groupby("transform", sort=False)):
        rows = rows.sort_values(x, ascending=False)
        ax.plot(rows[x], rows["ccc_valence"], "o-", color=COLOURS[i % len(COLOURS)], label=transform)
        for _, row in rows.iterrows():
            ax.annotate(row["strength"].split("=")[-1], (row[x], row["ccc_valence"]), fontsize=6,
                        textcoords="offset points", xytext=(3, 3))
    for marker, reference in zip(("*", "s"), REFERENCES):
        rows = table[table["transform"] == reference]
        if len(rows):
            ax.scatter(rows[x], rows["ccc_valence"], marker=marker, s=90, color="black", zorder=4,
                       label=f"{reference} release")
    chance = table[f"{x}_chance" if f"{x}_chance" in table else "chance"].dropna()
    for value in sorted(set(chance.round(3))):
        ax.axvline(value, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel(label)
    ax.set_ylabel("au CCC, valence")
    ax.set_xlim(-0.02, 1.02)


def frontier_plot(table: pd.DataFrame) -> Block:
    """One row of panels per data set: CCC (valence) against reid top-1 and, where measured, against the
    demographic attribute with the highest balanced accuracy."""
    plt = pyplot()
    datasets = list(dict.fromkeys(table["dataset"]))
    demographic = [c for c in table.columns if c.endswith("_balanced_accuracy")]
    panels = [("reid_top1", "reid top-1 (closed set)")] + [(c, c.replace("_", " ")) for c in demographic[:2]]
    figure, axes = plt.subplots(len(datasets), len(panels), figsize=(4.6 * len(panels), 4.2 * len(datasets)),
                                squeeze=False)
    for r, dataset in enumerate(datasets):
        rows = table[table["dataset"] == dataset]
        for c, (x, label) in enumerate(panels):
            _draw(axes[r, c], rows.dropna(subset=[x]), x, label)
            tag = rows["data"].iloc[0]
            axes[r, c].set_title(f"{label}" + (f" [{tag}]" if tag else ""), fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="best")
    figure.tight_layout()
    return png(figure, "release_frontier", "AU release transforms: au CCC (valence) against attack success on the "
                                           "release it trained on, one curve per transform (labels: strength); star: "
                                           "the raw release; square: the predictions release; dashed: chance.")


def release_frontier(trains: list[TrainRun], attacks: list[AttackRun]) -> list[Block]:
    """The table and the plot, where an au run trained on a transformed release was attacked (else nothing)."""
    table = points(trains, attacks)
    if table.empty or not (~table["transform"].isin(REFERENCES)).any():
        return []
    table = pooled(table)
    return [frontier_table(table), frontier_plot(table)]
