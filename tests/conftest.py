"""Shared fixtures: a private synthetic-data cache, a tiny dataset on disk and a quick fedavg run on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from privbench.config import build, override, profile_values
from privbench.data.generate import write_synthetic
from privbench.data.synthetic import SyntheticConfig
from privbench.progress import Progress

torch.set_num_threads(2)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keep the synthetic-data cache of the test session out of the user's cache."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ["PRIVBENCH_CACHE"] = str(cache)
    return cache


def tiny_config(*assignments: str) -> SyntheticConfig:
    """The quick synthetic profile with overrides such as 'participants=4'."""
    cfg = build(SyntheticConfig, profile_values("synthetic", "quick"), "quick")
    return override(cfg, list(assignments))


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six participants, 20 s, 32 px frames (AU, ratings and frames)."""
    out = tmp_path_factory.mktemp("data") / "tiny"
    return write_synthetic(tiny_config("participants=6", "seconds=20"), out, force=False, frames=True,
                           progress=Progress(enabled=False))


@pytest.fixture(scope="session")
def captured_fedavg_run(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quick fedavg run (bigru, 2 folds, 2 rounds) on ``tiny_dataset`` with its client updates captured
    (updates.pt, about 0.5 GB)."""
    from typer.testing import CliRunner

    from privbench.cli import app

    out = tmp_path_factory.mktemp("fedavg") / "run"
    result = CliRunner().invoke(app, ["run", "--method", "fedavg", "--rnn", "bigru", "--profile", "quick", "--folds",
                                      "2", "--no-progress", "--data", str(tiny_dataset), "--set",
                                      "capture_updates_mb=200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``gpu`` run only where CUDA is available."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA (marked gpu)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
