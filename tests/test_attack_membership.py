"""``privbench attack membership``: the threat model's separation, the epsilon lower bound (its formula and the
check that fails loudly), the attack on an overfit ``au`` model, on a DP model, its null test and bad input."""

from __future__ import annotations

import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config
from sklearn.metrics import roc_auc_score, roc_curve
from typer.testing import CliRunner

from privbench.attacks.membership import attack as membership_attack
from privbench.attacks.membership import audit, shadows
from privbench.attacks.membership import run as membership_run
from privbench.attacks.membership.audit import AuditError, compare, epsilon_lower_bound
from privbench.attacks.membership.threat import Candidates, MembershipTruth, ReleasedModel, TrainingRecipe
from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.progress import Progress
from privbench.results import load_result

runner = CliRunner()
ATTACK = ["attack", "membership", "--profile", "quick", "--no-progress"]
OVERFIT = ["--set", "hidden=32", "--set", "epochs=20", "--set", "patience=0"]  # on 4 people a fold: it memorises


def test_the_adversary_never_sees_the_split():
    fields = {ReleasedModel: {"release", "model", "normalizer", "windows", "loss"},
              TrainingRecipe: {"method", "config", "rnn"}, Candidates: {"sequences"}}
    for cls, names in fields.items():
        assert set(cls.__dataclass_fields__) == names
    for function in (shadows.train_shadows, membership_attack.loss_calibration, membership_attack.LiRA.fit,
                     membership_attack.loss_attack):
        assert not any("truth" in p or "member" in p for p in inspect.signature(function).parameters)
    readers = [p.name for p in Path(membership_attack.__file__).parent.glob("*.py")
               if "MembershipTruth" in p.read_text()]
    assert sorted(readers) == ["audit.py", "target.py", "threat.py"]  # made by target, read by the judge only


def test_the_lower_bound_follows_its_formula():
    member = np.array([True] * 20 + [False] * 20)
    scores = np.r_[np.ones(20), np.zeros(20)]  # perfectly separated: TPR 20/20 at FPR 0/20
    bound = epsilon_lower_bound(scores, member, delta=0.0)
    tpr_low, fpr_high = 0.025 ** (1 / 20), 1 - 0.025 ** (1 / 20)  # Clopper-Pearson at 20 of 20 and 0 of 20
    assert bound["tpr_low"] == pytest.approx(tpr_low) and bound["fpr_high"] == pytest.approx(fpr_high)
    assert bound["epsilon"] == pytest.approx(np.log(tpr_low / fpr_high))
    assert epsilon_lower_bound(scores, member, delta=0.5)["epsilon"] < bound["epsilon"]  # delta loosens it
    rng = np.random.default_rng(0)
    assert epsilon_lower_bound(rng.normal(size=400), rng.random(400) < 0.5, delta=1e-5)["epsilon"] < 0.5


def test_roc_points_are_sklearns():
    rng = np.random.default_rng(0)
    scores, member = np.round(rng.normal(size=300), 1), rng.random(300) < 0.3  # with ties
    fpr, tpr, _ = roc_curve(member, scores, drop_intermediate=False)
    assert np.allclose(audit.roc_points(scores, member), (fpr, tpr))
    assert audit.roc_metrics(scores, member, 0.0)["auc"] == pytest.approx(roc_auc_score(member, scores))


def test_a_lower_bound_above_the_accountant_fails_loudly():
    member = np.array([True] * 2000 + [False] * 2000)
    bound = epsilon_lower_bound(np.r_[np.ones(2000), np.zeros(2000)], member, delta=1e-5)["epsilon"]
    assert bound > 6
    privacy = {"epsilon": 1.0, "delta": 1e-5, "unit": "participant", "accountant": "prv"}
    with pytest.raises(AuditError, match="above the accountant's epsilon 1.000"):
        compare(bound, privacy)
    assert compare(0.5, privacy)["holds"]
    window = compare(bound, {**privacy, "unit": "window"})  # a person is many windows: no contradiction
    assert not window["comparable"] and "group privacy" in window["reason"]
    assert not compare(bound, {})["comparable"]


def test_lira_scores_follow_the_shadows():
    people = ["A", "B", "C", "D"]
    low, high = {p: np.full(3, 0.1) for p in people}, {p: np.full(3, 1.0) for p in people}
    made = [shadows.Shadow({p: (low if p in half else high)[p] * (1 + 0.1 * i) for p in people}, frozenset(half),
                           frozenset()) for i, half in enumerate(shadows.halves(people, 4, seed=0))]
    assert all(sum(s.side(p) for s in made) == 2 for p in people)  # each person in half of the shadows
    fit = membership_attack.LiRA.fit(made, people, "global")
    scored = fit.scores({"A": np.full(3, 0.1), "B": np.full(3, 1.0), "C": np.full(3, 0.1), "D": np.full(3, 1.0)})
    assert scored.people["A"] > 0 > scored.people["B"]
    assert (scored.windows["C"] > 0).all() and (scored.windows["D"] < 0).all()


@pytest.fixture(scope="module")
def membership_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tiny_config("participants=10", "seconds=20"), tmp_path_factory.mktemp("mi") / "data",
                           force=False, frames=False, progress=Progress(enabled=False))


def train(data: Path, out: Path, *extra: str) -> Path:
    result = runner.invoke(app, ["run", "--method", "au", "--rnn", "bigru", "--profile", "quick", "--folds", "2",
                                 "--no-progress", "--data", str(data), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def attack(run: Path, out: Path, *extra: str) -> dict:
    result = runner.invoke(app, [*ATTACK, "--from-run", str(run), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    return load_result(out).metrics


@pytest.fixture(scope="module")
def overfit_run(membership_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(membership_data, tmp_path_factory.mktemp("mi") / "overfit", *OVERFIT)


@pytest.fixture(scope="module", autouse=True)
def shadows_trained_once():
    """Shadow models are seeded: the same recipe, candidates, count and seed train the same ones, so an attack
    on a copy of a run reuses them (the suite's time)."""
    made: dict[tuple, list] = {}

    def once(recipe, dataset, candidates, *, count, seed, progress):
        key = (recipe.method, repr(recipe.config), recipe.rnn, tuple(candidates.people), count, seed)
        if key not in made:
            made[key] = shadows.train_shadows(recipe, dataset, candidates, count=count, seed=seed, progress=progress)
        return made[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(membership_run, "train_shadows", once)
        yield


def test_an_overfit_model_gives_its_members_away(overfit_run, tmp_path):
    metrics = attack(overfit_run, tmp_path / "mi")
    assert metrics["metrics"]["auc"] > 0.8, metrics["metrics"]
    assert metrics["ci95"]["auc"][0] > 0.5
    for name in ("loss", "lira", "loss_window", "lira_window"):
        assert 0 <= metrics["metrics"][f"{name}_tpr_at_01fpr"] <= metrics["metrics"][f"{name}_tpr_at_1fpr"] <= 1
    assert metrics["null_test"]["holds"], metrics["null_test"]  # unseen people as members: chance
    assert not metrics["threat_model"]["epsilon_comparison"]["comparable"]  # no DP: nothing to check
    assert metrics["threat_model"]["member_trials"] == 8 and metrics["threat_model"]["non_member_trials"] == 10
    assert sorted(p.name for p in (tmp_path / "mi").iterdir()) == [
        "config.yaml", "folds.csv", "metrics.json", "roc.png", "run.json", "scores.csv"]


def test_a_dp_model_stays_below_its_epsilon(membership_data, tmp_path):
    run = train(membership_data, tmp_path / "dp", "--dp-epsilon", "1", "--set", "dp.unit=participant")
    metrics = attack(run, tmp_path / "mi")
    compared = metrics["threat_model"]["epsilon_comparison"]
    assert compared["comparable"] and compared["holds"]
    assert metrics["metrics"]["epsilon_lower_bound"] < compared["accountant_epsilon"] <= 1.0 + 1e-6


def test_a_fabricated_epsilon_below_the_bound_stops_the_attack(overfit_run, tmp_path):
    """The overfit model claimed to be (0.001, 1e-5)-DP per participant: the audit contradicts it."""
    run = tmp_path / "claimed"
    shutil.copytree(overfit_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["privacy"] = {"epsilon": 0.001, "delta": 1e-5, "unit": "participant", "accountant": "prv", "folds": []}
    (run / "metrics.json").write_text(json.dumps(metrics))
    result = runner.invoke(app, [*ATTACK, "--from-run", str(run), "--out", str(tmp_path / "mi")])
    assert result.exit_code != 0 and isinstance(result.exception, AuditError), result.output
    assert not (tmp_path / "mi").exists()


def test_runs_it_cannot_attack_are_refused_in_one_line(overfit_run, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(overfit_run, bare, ignore=shutil.ignore_patterns("models"))
    other = tmp_path / "central"
    shutil.copytree(bare, other)
    record = json.loads((other / "run.json").read_text())
    (other / "run.json").write_text(json.dumps({**record, "method": "central"}))
    for run, message in ((bare, "kept no fold models"), (other, "a central run")):
        result = runner.invoke(app, [*ATTACK, "--from-run", str(run), "--out", str(tmp_path / "mi")])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.output
        assert not (tmp_path / "mi").exists()
    assert runner.invoke(app, ATTACK).exit_code == 2  # no --from-run


def test_the_audit_counts_a_persons_windows_as_one_trial():
    truth = MembershipTruth(members={"fold 0": ("A", "B")}, non_members={"fold 0": ("C",)}, excluded={"fold 0": ()})
    scores = membership_attack.Scores({"A": 1.0, "B": 2.0, "C": 0.0},
                                      {"A": np.ones(5), "B": np.ones(7), "C": np.zeros(4)}, 0.5, 0.5)
    window = audit.trials({"fold 0": scores}, truth, "window")
    assert len(window.scores) == 16 and window.counts == (2, 1)
    assert audit.trials({"fold 0": scores}, truth, "participant").scores.tolist() == [1.0, 2.0, 0.0]
