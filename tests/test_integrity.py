"""No broken run may look like a good one; no finished result may be lost; an output folder has one writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.layout import Dataset
from privbench.data.splits import make_splits
from privbench.errors import DivergedError, InputError
from privbench.evaluate.metrics import ccc, mean_ccc, pcc, rmse
from privbench.io import OutputClaim, atomic_dir, write_json
from privbench.methods.base import FoldOutput
from privbench.progress import Progress
from privbench.experiment.crossval import cross_validate
from privbench.train.loop import FitHistory

runner = CliRunner()
QUICK_AU = ["run", "--method", "au", "--rnn", "rnn", "--profile", "quick", "--no-progress", "--folds", "2"]


def leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}."))


@pytest.mark.parametrize("metric", [ccc, pcc, rmse])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_metric_of_non_finite_input_is_an_error(metric, bad):
    labels = np.linspace(-1, 1, 50)
    predictions = labels.copy()
    predictions[7] = bad
    with pytest.raises(ValueError, match="non-finite"):
        metric(labels, predictions)
    with pytest.raises(ValueError, match="non-finite"):
        metric(predictions, labels)


def test_all_nan_predictions_do_not_score_ccc_one():
    labels = np.zeros((20, 2))
    with pytest.raises(ValueError):
        ccc(labels, np.full((20, 2), np.nan))
    with pytest.raises(DivergedError):
        mean_ccc([labels], [np.full((20, 2), np.nan)])


def test_non_finite_learning_rate_is_refused(tmp_path):
    result = runner.invoke(app, [*QUICK_AU, "--set", "lr=inf", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "lr: expected a finite number" in result.output
    assert not (tmp_path / "r").exists()


def test_a_diverged_run_stops_naming_the_fold_and_writes_nothing(tmp_path):
    out = tmp_path / "r"
    result = runner.invoke(app, [*QUICK_AU, "--set", "data.participants=6", "--set", "lr=1e30", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "fold 1 of 2: training diverged" in result.output
    assert "CCC" not in result.output
    assert not out.exists() and leftovers(tmp_path, "r") == []


class NaNMethod:
    """A method whose model 'trains' fine but predicts NaN for one test participant."""

    config_type = dict
    needs_frames = False
    description = "test double"

    def train_fold(self, dataset, split, config, rnn, seed, device, progress):
        predictions = {pid: np.zeros((len(dataset.ratings(pid)), 2)) for pid in split.test}
        predictions[split.test[0]][3, 1] = np.nan
        return FoldOutput(predictions=predictions, labels={p: np.zeros_like(v) + 0.1 for p, v in predictions.items()},
                          model=torch.nn.Linear(1, 1), history=FitHistory(train_loss=[0.0], epoch_seconds=[0.0]),
                          example_input=lambda n: torch.zeros(n, 1))


def test_non_finite_test_predictions_stop_cross_validation(tiny_dataset):
    dataset = Dataset(tiny_dataset)
    splits = make_splits(dataset.ids, 2, 0, 0)
    with pytest.raises(DivergedError, match=r"fold 1: training diverged \(1 non-finite test prediction"):
        cross_validate(NaNMethod(), dataset, splits, {}, "rnn", 0, torch.device("cpu"), Progress(enabled=False))


def test_a_result_file_never_holds_a_non_finite_number(tmp_path):
    with pytest.raises(ValueError, match=r"ccc\.valence\.folds\[1\]"):
        write_json(tmp_path / "metrics.json", {"ccc": {"valence": {"folds": [0.1, float("nan")]}}})
    assert not list(tmp_path.iterdir())


def test_unwritable_out_fails_before_any_work(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("PRIVBENCH_CACHE", str(cache))
    result = runner.invoke(app, [*QUICK_AU, "--out", "/proc/privbench-result"])
    assert result.exit_code == 2
    assert "/proc: takes no new files or folders, so /proc/privbench-result cannot be created" in result.output
    assert not cache.exists()  # no data was generated, nothing trained


def test_synth_to_an_unwritable_place_is_one_line():
    result = runner.invoke(app, ["data", "synth", "--profile", "quick", "--out", "/proc/privbench-data"])
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: /proc") and len(result.output.strip().splitlines()) == 1


def test_out_that_is_a_file_is_one_line(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("mine")
    result = runner.invoke(app, [*QUICK_AU, "--out", str(target)])
    assert result.exit_code == 2
    assert f"{target}: exists and is not a folder" in result.output
    assert target.read_text() == "mine"


def test_a_claimed_out_is_refused_at_once_and_free_again_after(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("PRIVBENCH_CACHE", str(cache))
    out = tmp_path / "shared"
    claim = OutputClaim(out)  # another run holds it
    result = runner.invoke(app, [*QUICK_AU, "--set", "data.participants=6", "--out", str(out)])
    assert result.exit_code == 2
    assert "another privbench process" in result.output and "--force" not in result.output
    assert not cache.exists()  # refused before any work
    claim.abandon()
    result = runner.invoke(app, [*QUICK_AU, "--set", "data.participants=6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    assert leftovers(tmp_path, "shared") == []


def test_a_killed_runs_leftovers_are_taken_over(tmp_path):
    out = tmp_path / "r"
    partial = tmp_path / ".r.partial"
    partial.mkdir()
    (partial / "metrics.json").write_text("{half")
    (tmp_path / ".r.lock").write_text("12345")  # nobody holds the lock any more
    with atomic_dir(out) as folder:
        (folder / "done.txt").write_text("yes")
    assert sorted(p.name for p in out.iterdir()) == ["done.txt"]
    assert leftovers(tmp_path, "r") == []


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, InputError, RuntimeError])
def test_an_interrupted_write_leaves_nothing_and_keeps_the_old_result(tmp_path, interrupt):
    out = tmp_path / "r"
    out.mkdir()
    (out / "metrics.json").write_text("old")
    with pytest.raises(interrupt):
        with atomic_dir(out, force=True) as folder:
            (folder / "metrics.json").write_text("new, half")
            raise interrupt("stop")
    assert (out / "metrics.json").read_text() == "old"
    assert leftovers(tmp_path, "r") == []


def test_an_error_raised_in_a_dataloader_worker_is_one_line(tiny_dataset, tmp_path):
    from torch.utils.data import DataLoader, Dataset as TorchDataset

    from privbench.errors import one_line
    from privbench.errors import DatasetError

    class Broken(TorchDataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, item: int):
            raise DatasetError(f"{tmp_path}/P03/frames.npy: short read at row {item}")

    with pytest.raises(DatasetError) as caught:
        next(iter(DataLoader(Broken(), num_workers=1)))
    assert len(str(caught.value).splitlines()) > 1  # torch adds the worker's traceback
    assert one_line(caught.value) == f"{tmp_path}/P03/frames.npy: short read at row 0"
