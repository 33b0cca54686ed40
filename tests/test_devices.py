"""Devices: a CUDA run where a GPU exists (marked ``gpu``, skipped elsewhere), one clear line where none does."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from privbench.cli import app

runner = CliRunner()
QUICK = ["run", "--method", "au", "--rnn", "bigru", "--profile", "quick", "--folds", "2", "--no-progress",
         "--set", "data.participants=6"]


@pytest.mark.gpu
def test_a_cuda_run_matches_the_cpu_run(tmp_path):
    scores = {}
    for device in ("cpu", "cuda"):
        result = runner.invoke(app, [*QUICK, "--device", device, "--out", str(tmp_path / device)])
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / device / "run.json").read_text())["device"].startswith(device)
        scores[device] = json.loads((tmp_path / device / "metrics.json").read_text())["ccc"]["valence"]["mean"]
    assert scores["cuda"] == pytest.approx(scores["cpu"], abs=0.05)  # kernels differ; the model does not


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_one_line(tmp_path):
    result = runner.invoke(app, [*QUICK, "--device", "cuda", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --device cuda: no CUDA device is available"
    assert not (tmp_path / "r").exists()
