"""The report's sections, built from the collected result folders: inputs and data, findings, accuracy,
efficiency, privacy, failed jobs and skipped folders."""

from __future__ import annotations

import pandas as pd

from privbench.report.accuracy import accuracy_table, efficiency_table
from privbench.report.budget import audit_plot, budget_plot
from privbench.report.dataset import data_sets, data_summary
from privbench.report.document import Bullets, Document, Section, Table
from privbench.report.figures import reconstructions, segment_length
from privbench.report.findings import RULES, Finding, findings
from privbench.report.inputs import Collection
from privbench.report.paper import PAPER
from privbench.report.plots import ccc_per_fold, efficiency_bars, frontier
from privbench.report.privacy import privacy_table
from privbench.report.records import AttackRun, TrainRun, split_runs
from privbench.report.release_frontier import release_frontier


def runs_table(trains: list[TrainRun], attacks: list[AttackRun]) -> Table:
    """Every result folder read, with what the report made of it."""
    rows = [{"folder": str(t.folder.path), "kind": "train", "name": t.method, "head_or_release": t.head,
             "target": "", "defence": t.defence, "seed": t.seed, "profile": t.folder.run.get("profile"),
             "dataset": t.folder.run.get("dataset")} for t in trains]
    rows += [{"folder": str(a.folder.path), "kind": "attack", "name": a.attack, "head_or_release": a.release,
              "target": a.target_label, "defence": a.defence, "seed": a.folder.run.get("seed"),
              "profile": a.folder.run.get("profile"), "dataset": a.folder.run.get("dataset")} for a in attacks]
    data = pd.DataFrame(rows)
    shown = data.assign(folder=[p.rsplit("/", 1)[-1] for p in data["folder"]]).drop(columns=["dataset"])
    return Table("runs", "Every result folder read (full paths in runs.csv).", data, shown)


def _inputs(found: Collection, trains: list[TrainRun], attacks: list[AttackRun]) -> Section:
    stores = ", ".join(str(s) for s in found.stores) or "none (result folders given directly)"
    notes = sorted({f"{t.label}: {key.replace('_', ' ')}: {note}" for t in trains
                    for key, note in (t.folder.run.get("notes") or {}).items()})
    unlinked = [f"{a.attack} {a.folder.path.name}: attacked {a.from_run}, which is not among the inputs (or not "
                "unique by name); shown without its model" for a in attacks if a.from_run and a.target is None]
    blocks = [f"{len(trains)} train run(s) and {len(attacks)} attack(s); stores: {stores}.",
              f"privbench's numbers are measured on {data_summary(found.folders)}. Columns and marks labelled "
              f"'paper' are {PAPER} (23 real participants, 8 folds, other hardware): measured on other data, "
              "shown for orientation only.", runs_table(trains, attacks)]
    if notes or unlinked:
        blocks.append(Bullets(tuple(notes + unlinked)))
    return Section("Inputs and data", tuple(blocks))


def findings_section(judged: tuple[Finding, ...], found: Collection) -> Section:
    blocks: list = []
    for finding in judged:
        blocks += [finding.summary(), Bullets(finding.lines())]
    caveat = (" On synthetic data the verdicts say what privbench's generator leaks at these strengths, not what "
              "real AUs or faces leak." if any(d.is_synthetic for d in data_sets(found.folders)) else "")
    blocks += [RULES, f"Measured on {data_summary(found.folders)}.{caveat}", findings_table(judged)]
    return Section("Findings", tuple(blocks))


def findings_table(judged: tuple[Finding, ...]) -> Table:
    rows = [{"claim": f.claim, "claim_verdict": f.verdict, "part": p.name, "part_verdict": p.verdict,
             "attack": m.run.attack, "release": m.run.release, "metric": m.metric, "value": m.value,
             "ci95_low": m.interval[0] if m.interval else None, "ci95_high": m.interval[1] if m.interval else None,
             "baseline": m.baseline, "side": m.side, "folder": str(m.run.folder.path)}
            for f in judged for p in f.parts for m in p.evidence]
    data = pd.DataFrame(rows, columns=["claim", "claim_verdict", "part", "part_verdict", "attack", "release",
                                       "metric", "value", "ci95_low", "ci95_high", "baseline", "side", "folder"])
    shown = pd.DataFrame({"claim": [f.claim.split(")")[0] + ")" for f in judged], "verdict": [f.verdict for f in judged],
                          "measurements": [sum(len(p.evidence) for p in f.parts) for f in judged]})
    return Table("findings", "The claims' verdicts (every measurement in findings.csv).", data, shown)


def _accuracy(trains: list[TrainRun]) -> Section:
    if not trains:
        return Section("Accuracy", ("No train run among the inputs.",))
    blocks = (accuracy_table(trains), ccc_per_fold(trains), budget_plot(trains))
    return Section("Accuracy", tuple(b for b in blocks if b is not None))


def _efficiency(trains: list[TrainRun]) -> Section:
    if not trains:
        return Section("Efficiency", ("No train run among the inputs.",))
    table = efficiency_table(trains)
    return Section("Efficiency", tuple(b for b in (table, efficiency_bars(table)) if b is not None))


def _privacy(trains: list[TrainRun], attacks: list[AttackRun]) -> Section:
    if not attacks:
        return Section("Privacy", ("No attack among the inputs.",))
    unscored = tuple(f"{a.attack} {a.folder.path.name}: {name} not scored ({reason})" for a in attacks
                     for name, reason in (a.threat.get("not_scored") or {}).items())
    blocks = [privacy_table(attacks), Bullets(unscored) if unscored else None, frontier(attacks, trains),
              audit_plot(attacks), *release_frontier(trains, attacks), segment_length(attacks),
              *reconstructions(attacks)]
    return Section("Privacy", tuple(b for b in blocks if b is not None))


def _problems(found: Collection) -> Section:
    complete = {f.path.name for f in found.folders}
    failed = tuple(f"{f.job} (key {f.key}, finished {f.finished or '?'}): {f.error}"
                   + (" [a complete result of this key exists]" if f.key in complete else "") for f in found.failed)
    skipped = tuple(f"{s.path}: {s.reason}" for s in found.skipped)
    return Section("Failed jobs and skipped folders", (
        f"{len(failed)} failed job(s)" + (":" if failed else "."), *(() if not failed else (Bullets(failed),)),
        f"{len(skipped)} folder(s) or file(s) skipped" + (":" if skipped else "."),
        *(() if not skipped else (Bullets(skipped),))))


def document(found: Collection, title: str) -> tuple[Document, tuple[Finding, ...]]:
    """The whole report, and the findings it states."""
    trains, attacks = split_runs(found.folders)
    judged = findings(attacks)
    sections = (_inputs(found, trains, attacks), findings_section(judged, found), _accuracy(trains),
                _efficiency(trains), _privacy(trains, attacks), _problems(found))
    return Document(title, sections), judged

