"""Result folders as the report sees them: train runs by method/head/defence, attacks by what they attacked.

An attack's ``from_run`` (the train run it attacked, or null for the data's own AU release and for
simulated rounds) is linked to a loaded train folder by resolved path, else by the folder's name
(stores can be moved).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from privbench.results import ResultFolder

DIMENSIONS = ("valence", "arousal")


def defence_of(folder: ResultFolder) -> str:
    """``run.json`` ``labels.defence`` (written by the benchmark); else, for a DP or SecAgg+ run made by hand, its
    mechanism as the benchmark would name it (``dpsgd-window-e3``, ``head-secagg-dpfed-client-e8``); else "none"."""
    labels = folder.run.get("labels")
    if isinstance(labels, dict) and labels.get("defence"):
        return str(labels["defence"])
    privacy = folder.metrics.get("privacy") if folder.kind == "train" else None
    privacy = privacy if isinstance(privacy, dict) else {}
    mechanism, epsilon = str(privacy.get("mechanism", "")), privacy.get("target_epsilon")
    if mechanism == "dp-sgd":
        return f"dpsgd-{privacy.get('unit')}-e{epsilon:g}"
    parts = ["secagg"] if privacy.get("secagg") else []
    parts += [f"dpfed-{mechanism.removeprefix('dp-fedavg-')}-e{epsilon:g}"] if mechanism.startswith("dp-fedavg-") else []
    notes = folder.run.get("notes")
    if isinstance(notes, dict) and str(notes.get("trainable", "")).startswith("head"):
        parts.insert(0, "head")
    return "-".join(parts) or "none"


def data_tag(folder: ResultFolder, tagged: bool) -> str:
    """A short name of the folder's data set, when the inputs hold several ("" otherwise)."""
    return str(folder.run.get("dataset", "?"))[-6:] if tagged else ""


@dataclass(frozen=True)
class TrainRun:
    """One train result folder; ``data`` tags its data set where the inputs hold several."""

    folder: ResultFolder
    data: str = ""

    @property
    def method(self) -> str:
        return self.folder.name

    @property
    def head(self) -> str:
        return str(self.folder.run.get("rnn", "?"))

    @property
    def defence(self) -> str:
        return defence_of(self.folder)

    @property
    def seed(self) -> int | None:
        return self.folder.run.get("seed")

    @property
    def group(self) -> tuple[str, str, str, str, str]:
        """What the accuracy and efficiency tables pool over seeds: method, head, defence, profile, data set."""
        return (self.method, self.head, self.defence, str(self.folder.run.get("profile", "?")),
                str(self.folder.run.get("dataset", "?")))

    @property
    def label(self) -> str:
        return group_label(self.group) + (f" [{self.data}]" if self.data else "")

    def ccc_folds(self, dim: str) -> list[float]:
        return [float(v) for v in self.folder.metrics["ccc"][dim]["folds"]]

    @property
    def mean_ccc(self) -> float:
        """CCC averaged over folds, then over valence and arousal."""
        return sum(self.folder.metrics["ccc"][d]["mean"] for d in DIMENSIONS) / len(DIMENSIONS)

    @property
    def ccc_std(self) -> float:
        """Standard deviation over folds of the per-fold CCC averaged over both dimensions."""
        per_fold = [sum(pair) / 2 for pair in zip(*(self.ccc_folds(d) for d in DIMENSIONS))]
        if len(per_fold) < 2:
            return 0.0
        mean = sum(per_fold) / len(per_fold)
        return (sum((v - mean) ** 2 for v in per_fold) / (len(per_fold) - 1)) ** 0.5


def group_label(group: tuple[str, ...]) -> str:
    """method/head, then the defence where there is one: "au/bigru", "fedavg/rnn + dp"."""
    method, head, defence = group[:3]
    return f"{method}/{head}" + ("" if defence == "none" else f" + {defence}")


@dataclass(frozen=True)
class AttackRun:
    """One attack result folder and the train run it attacked (None: the data's AU release, a simulated
    round, or a run not among the inputs: then ``from_run`` still names it)."""

    folder: ResultFolder
    target: TrainRun | None
    data: str = ""

    @property
    def attack(self) -> str:
        return self.folder.name

    @property
    def threat(self) -> dict:
        return self.folder.metrics.get("threat_model", {})

    @property
    def from_run(self) -> str | None:
        return self.folder.run.get("from_run")

    @property
    def release(self) -> str:
        """What was attacked: reid/demographics ``raw``, ``predictions``, ...; gradinv the update, captured
        (from a run) or from a simulated round."""
        if self.attack == "gradinv":
            where = "captured updates" if self.from_run else "simulated round"
            return f"{self.threat.get('update', '?')}; {where}"
        return str(self.threat.get("release", "?"))

    @property
    def short_release(self) -> str:
        """The release in a word or two, for legends: ``raw``, ``predictions``, ``simulated round``."""
        if self.attack == "gradinv":
            return "captured updates" if self.from_run else "simulated round"
        return self.release

    @property
    def on_au_release(self) -> bool:
        """An attack on released AUs (the paper's first privacy level), not on a model's output."""
        return self.attack in ("reid", "demographics") and self.threat.get("release") != "predictions"

    @property
    def defence(self) -> str:
        own = defence_of(self.folder)
        return own if own != "none" or self.target is None else self.target.defence

    @property
    def target_label(self) -> str:
        if self.target is not None:
            return self.target.label
        tag = f" [{self.data}]" if self.data else ""
        if self.from_run:
            return f"{Path(self.from_run).name} (not among the inputs){tag}"
        return ("AU release (no model)" if self.on_au_release else "simulated round (no run)") + tag

    def value(self, name: str) -> float | None:
        return self.folder.metrics.get("metrics", {}).get(name)

    def baseline(self, name: str) -> float | None:
        return self.folder.metrics.get("baseline", {}).get(name)

    def interval(self, name: str) -> tuple[float, float] | None:
        bounds = self.folder.metrics.get("ci95", {}).get(name)
        return (float(bounds[0]), float(bounds[1])) if bounds else None


def split_runs(folders: list[ResultFolder]) -> tuple[list[TrainRun], list[AttackRun]]:
    """Train runs, and attacks linked to them; each tagged with its data set where there are several."""
    tagged = len({f.run.get("dataset") for f in folders}) > 1
    trains = [TrainRun(f, data_tag(f, tagged)) for f in folders if f.kind == "train"]
    attacks = [AttackRun(f, link(f.run.get("from_run"), trains), data_tag(f, tagged))
               for f in folders if f.kind == "attack"]
    return trains, attacks


def link(from_run: str | None, trains: list[TrainRun]) -> TrainRun | None:
    """The train run at ``from_run`` (resolved path), else the one train run of that folder name."""
    if not from_run:
        return None
    target = Path(from_run).resolve()
    for run in trains:
        if run.folder.path.resolve() == target:
            return run
    named = [run for run in trains if run.folder.path.name == target.name]
    return named[0] if len(named) == 1 else None
