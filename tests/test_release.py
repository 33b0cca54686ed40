"""The AU release transforms (privbench/release): shapes and finiteness, the ldp mechanism's noise scale and
composition, coarsen's identity, the same bits for training and attack, the privatiser against re-
identification, the null test under each transform, and bad input refused in one line."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import tiny_config
from typer.testing import CliRunner

from privbench.attacks.reid.attack import Windowing, closed_set_scores, rank
from privbench.attacks.reid.linkage import Cut, cut
from privbench import experiment
from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.data.layout import Dataset
from privbench.data.splits import make_splits
from privbench.evaluate.metrics import ccc
from privbench.experiment.crossval import training_mean
from privbench.methods.au import AUMethod, au_sequence
from privbench.progress import Progress
from privbench.release import NEEDS_RUN, STRENGTHS, TRANSFORMS
from privbench.release.basic import block_means
from privbench.release.build import build_release, release_settings
from privbench.release.ldp import composed_epsilon, gaussian_delta, gaussian_sigma, laplace_scale
from privbench.release.privatiser import encode, encoder_for, public_population
from privbench.release.series import Context, Release, raw_release
from privbench.results import load_result

runner = CliRunner()
SMALL_PUBLIC = ("privatiser.public_participants=6", "privatiser.public_seconds=40", "privatiser.epochs=2")
STRENGTH = {"noise": ("noise.snr=1",), "ldp": ("ldp.epsilon=50",), "coarsen": ("coarsen.seconds=1",),
            "quantise": ("quantise.levels=3",), "privatiser": SMALL_PUBLIC}
AU_TRANSFORMS = [name for name in TRANSFORMS if name not in NEEDS_RUN]


def synthetic(path: Path, *settings: str) -> Path:
    return write_synthetic(tiny_config(*settings), path, force=False, frames=False, progress=Progress(enabled=False))


def released(dataset: Dataset, name: str, *extra: str) -> Release:
    return build_release(dataset, release_settings(name, [*STRENGTH.get(name, ()), *extra]))


@pytest.mark.parametrize("name", AU_TRANSFORMS)
def test_every_transform_gives_finite_series_of_its_declared_shape(tiny_dataset, name):
    dataset = Dataset(tiny_dataset)
    release = released(dataset, name)
    assert set(release.series) == set(dataset.ids) and release.representation == name
    width = {"intensities": 17, "privatiser": 8}.get(name, 35)
    for pid, values in release.series.items():
        assert values.shape == (len(dataset.aus(pid)), width) and values.dtype == np.float32
        assert np.isfinite(values).all()
    assert release.columns == tuple(release.columns) and len(release.columns) == width
    assert release.centre.shape == release.scale.shape == (width,) and (release.scale > 0).all()
    assert name in ("raw", "intensities", "zscore", "privatiser") or release.notes["release"]


def test_the_benchmark_strengths_are_valid_settings():
    for name, strengths in STRENGTHS.items():
        for assignments in strengths.values():
            assert release_settings(name, list(assignments)).release == name


def test_ldp_noise_scale_and_composition_follow_their_formulas(tiny_dataset):
    assert laplace_scale(103.0, 10.0) == pytest.approx(10.3)
    for epsilon in (0.5, 1.0, 10.0):
        sigma = gaussian_sigma(20.0, epsilon, 1e-5)
        assert gaussian_delta(sigma, 20.0, epsilon) <= 1e-5 < gaussian_delta(sigma * 0.99, 20.0, epsilon)
    classic = 20.0 * math.sqrt(2 * math.log(1.25 / 1e-5)) / 0.5  # Dwork & Roth's bound, valid for epsilon < 1
    assert gaussian_sigma(20.0, 0.5, 1e-5) < classic
    dataset = Dataset(tiny_dataset)
    release = released(dataset, "ldp", "ldp.window_seconds=0.4")  # 10-frame windows, 50 per participant
    privacy = release.privacy
    assert privacy["windows_per_participant"] == 50 and privacy["epsilon_participant"] == pytest.approx(50 * 50.0)
    width = 17 * 5.0 + 18 * 1.0
    assert privacy["sensitivity"]["l1"] == pytest.approx(width)
    base = raw_release(dataset)
    noise = np.concatenate([(release.series[p] - block_means(np.clip(base.series[p], base.centre - base.scale,
                                                                      base.centre + base.scale), 10))[::10]
                            for p in dataset.ids])
    assert noise.std() == pytest.approx(math.sqrt(2) * width / 50.0, rel=0.05)  # Laplace: sd = sqrt(2) b
    gaussian = released(dataset, "ldp", "ldp.mechanism=gaussian", "ldp.window_seconds=0.4").privacy
    rho = 50 * gaussian["sensitivity"]["l2"] ** 2 / (2 * gaussian["noise"]["sigma"] ** 2)
    assert gaussian["epsilon_participant"] == pytest.approx(rho + 2 * math.sqrt(rho * math.log(1e5)))
    settings = release_settings("ldp", ["ldp.epsilon=2"]).ldp
    assert composed_epsilon(settings, 7, 1.0, None) == 14.0


def test_coarsen_by_one_frame_is_the_identity_and_longer_blocks_are_means(tiny_dataset):
    dataset = Dataset(tiny_dataset)
    raw = raw_release(dataset)
    assert released(dataset, "coarsen", "coarsen.seconds=0.04").digest() == raw.digest()  # 25 fps: one frame
    two = released(dataset, "coarsen", "coarsen.seconds=0.08").series["P01"]
    assert np.allclose(two[0], raw.series["P01"][:2].mean(0)) and np.array_equal(two[0], two[1])
    levels = released(dataset, "quantise", "quantise.levels=2").series["P01"][:, :17]
    assert set(np.unique(levels)) <= {0.0, 5.0}


def test_training_and_the_attacks_receive_the_same_bits(tiny_dataset, tmp_path):
    dataset = Dataset(tiny_dataset)
    settings = ["--set", "release=noise", "--set", "noise.snr=2", "--set", "release_seed=3"]
    release = released(dataset, "noise", "noise.snr=2", "release_seed=3")
    assert np.array_equal(au_sequence(dataset, "P02", release).inputs, release.series["P02"])
    result = runner.invoke(app, ["run", "--method", "au", "--profile", "quick", "--folds", "2", "--no-progress",
                                 "--data", str(tiny_dataset), *settings, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    trained = load_result(tmp_path / "run").run["notes"]["release_sha256"]
    assert trained == release.digest()
    quick = ["--profile", "quick", "--no-progress", "--data", str(tiny_dataset)]
    reid = [*settings, "--set", "reference_seconds=6", "--set", "probe_seconds=4", "--set", "bootstrap=100"]
    demographics = ["--from-run", str(tmp_path / "run"), "--set", "release=run", "--set", "min_per_class=2",
                    "--set", "bootstrap=20", "--set", "permutations=10"]
    reid_run = [*reid[6:], *demographics[:4]]  # the run's release, settings read from it
    for name, attack, extra in (("reid", "reid", reid), ("reid-run", "reid", reid_run),
                                ("demographics", "demographics", demographics)):
        out = tmp_path / name
        result = runner.invoke(app, ["attack", attack, *quick, *extra, "--out", str(out)])
        assert result.exit_code == 0, result.output
        threat = load_result(out).metrics["threat_model"]
        assert threat["release_sha256"] == trained and threat["release_settings"] == "noise(snr=2)"
        assert threat["release"] == "noise"
    # the report's release frontier: this run's point, its CCC and the attacks on its release
    folders = [str(tmp_path / n) for n in ("run", "reid-run", "demographics")]
    result = runner.invoke(app, ["report", *folders, "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    frontier = pd.read_csv(tmp_path / "report" / "release_frontier.csv")
    (point,) = frontier.itertuples()
    run_metrics, reid_metrics = load_result(tmp_path / "run").metrics, load_result(tmp_path / "reid-run").metrics
    assert point.transform == "noise" and point.strength == "snr=2"
    assert point.ccc_valence == pytest.approx(run_metrics["ccc"]["valence"]["mean"])
    assert point.reid_top1 == pytest.approx(reid_metrics["metrics"]["top1"])
    assert (tmp_path / "report" / "release_frontier.png").stat().st_size > 10_000


def heldout_top1(release: Release, fps: float) -> float:
    """Closed-set top-1 of logistic regression on each series' last fifth (what the privatiser never saw)."""
    tail = {p: v[int(len(v) * 0.8):] for p, v in release.series.items()}
    view, truth = cut(Release(release.representation, release.columns, fps, tail), sorted(tail),
                      Cut(reference=round(12 * fps), guard=round(2 * fps), probe=round(5 * fps)), seed=0)
    scores = closed_set_scores(rank(view, "logreg", Windowing(length=50, stride=25, seed=0)), truth, resamples=100,
                               seed=0)
    return scores["metrics"]["top1"]


def test_the_privatiser_lowers_reid_on_held_out_data_and_keeps_affect(tmp_path):
    """Its public population's last fifth (held out of its training) is re-identified less often from its
    output than from the raw AUs, and au trained on its output (one fold) beats the constant predictor."""
    public = ["privatiser.public_participants=8", "privatiser.public_seconds=150", "privatiser.epochs=6",
              "privatiser.weight=3"]
    settings = release_settings("privatiser", public)
    private = Dataset(synthetic(tmp_path / "private", "participants=8", "seconds=60", "seed=7"))
    context = Context(private, Progress(enabled=False))
    population, _ = public_population(settings.privatiser, private, context.progress)
    raw = raw_release(population)
    encoder = encoder_for(settings, raw.columns, context)  # trained on the first 80% of each public session
    output = Release("privatiser", tuple(f"z{i}" for i in range(8)), raw.fps,
                     {p: encode(encoder, v) for p, v in raw.series.items()})
    assert heldout_top1(output, raw.fps) < heldout_top1(raw, raw.fps) - 0.25
    spec = experiment.resolve("au", "bigru", "quick", folds=4, device="cpu", data=str(private.root),
                              assignments=["release=privatiser", "epochs=4", *public])
    split = make_splits(private.ids, 4, 0, spec.train.stopping.val_participants)[0]
    fold = AUMethod().train_fold(private, split, spec.train, "bigru", 0, torch.device("cpu"), context.progress)
    labels, predicted = (np.concatenate([part[p] for p in split.test]) for part in (fold.labels, fold.predictions))
    constant = np.broadcast_to(training_mean(private, split), labels.shape)
    assert ccc(labels, predicted)[0] > ccc(labels, constant)[0] + 0.1  # valence, one fold of two test people


@pytest.mark.parametrize("name", AU_TRANSFORMS)
def test_the_null_test_holds_under_every_transform(tmp_path_factory, name):
    """No identity signal in the data: re-identification's top-1 interval holds chance under each transform."""
    root = tmp_path_factory.getbasetemp() / "null-release"
    if not root.exists():
        synthetic(root, "participants=20", "seconds=40", "identity_strength=0", "demographic_strength=0")
    release = released(Dataset(root), name)
    view, truth = cut(release, sorted(release.series), Cut(reference=500, guard=50, probe=250), seed=0)
    scores = closed_set_scores(rank(view, "logreg", Windowing(length=50, stride=25, seed=0)), truth, resamples=200,
                               seed=0)
    low, high = scores["ci95"]["top1"]
    assert low <= scores["baseline"]["top1"] <= high, scores


@pytest.mark.parametrize("command, extra, needle", [
    ("run", ["release=pixels"], "unknown release 'pixels'"),
    ("attack", ["release=pixels"], "unknown release 'pixels'"),
    ("run", ["noise.loudness=3"], "unknown key 'noise.loudness'"),
    ("run", ["release=noise", "noise.snr=0"], "noise.snr must be positive"),
    ("attack", ["release=ldp", "ldp.epsilon=0"], "ldp.epsilon must be positive"),
    ("run", ["release=coarsen", "coarsen.seconds=0.01"], "shorter than one frame"),
    ("attack", ["release=coarsen", "coarsen.seconds=1000"], "longer than the shortest session"),
    ("run", ["release=quantise", "quantise.levels=1"], "quantise.levels must be at least 2"),
    ("attack", ["release=privatiser", "privatiser.public=none"], "needs its public population"),
    ("run", ["release=predictions"], "attacks only"),
])
def test_bad_release_settings_are_one_line_and_write_nothing(tiny_dataset, tmp_path, command, extra, needle):
    head = ["run", "--method", "au", "--folds", "2"] if command == "run" else ["attack", "reid"]
    out = tmp_path / "out"
    result = runner.invoke(app, [*head, "--profile", "quick", "--no-progress", "--data", str(tiny_dataset),
                                 *(f"--set={a}" for a in extra), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.output
    assert not out.exists()
