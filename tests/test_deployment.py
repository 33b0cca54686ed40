"""The deployment engine on real Flower processes: a SuperLink and one SuperNode per participant on 127.0.0.1,
compared with the in-process engine on the same data and seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import tiny_config
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.data.layout import Dataset
from privbench.federated.local_federation import LocalFederation, free_port
from privbench.progress import Progress

runner = CliRunner()


@pytest.fixture(scope="module")
def four_people(tmp_path_factory) -> Path:
    """Four participants: two folds of two clients each, so every Flower process the test starts counts (each
    message starts a ClientApp process, which imports torch)."""
    out = tmp_path_factory.mktemp("data") / "four"
    return write_synthetic(tiny_config("participants=4", "seconds=20"), out, force=False, frames=True,
                           progress=Progress(enabled=False))


@pytest.fixture()
def federation(four_people, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    started = LocalFederation(four_people, Dataset(four_people).ids, logs, threads=torch.get_num_threads())
    yield started
    started.stop()
    assert all(p.poll() is not None for p in started.processes.values())


def fedavg_run(dataset: Path, out: Path, *extra: str):
    return runner.invoke(app, ["run", "--method", "fedavg", "--rnn", "rnn", "--profile", "quick", "--folds", "2",
                               "--data", str(dataset), "--set", "val_participants=0", "--set", "rounds=2",
                               "--set", "min_clients=2", "--set", "client_fraction=1", "--no-progress",
                               "--out", str(out), *extra])


def deployment_run(dataset: Path, address: str, out: Path, *extra: str):
    return fedavg_run(dataset, out, "--engine", "deployment", "--superlink", address, *extra)


@pytest.mark.slow
@pytest.mark.network
def test_fedavg_on_a_superlink_and_supernodes_equals_the_inprocess_engine(four_people, federation, tmp_path):
    result = deployment_run(four_people, federation.address, tmp_path / "run")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    efficiency = metrics["efficiency"]
    assert len(metrics["ccc"]["valence"]["folds"]) == 2

    # the same folds in this process: the same rounds and the same arithmetic (equal torch thread counts)
    result = fedavg_run(four_people, tmp_path / "inprocess", "--engine", "inprocess")
    assert result.exit_code == 0, result.output
    inprocess = json.loads((tmp_path / "inprocess" / "metrics.json").read_text())
    for dim in ("valence", "arousal"):
        assert metrics["ccc"][dim]["folds"] == inprocess["ccc"][dim]["folds"], dim
    assert {k: efficiency[k] for k in ("rounds", "bytes_up", "bytes_down")} == {
        k: inprocess["efficiency"][k] for k in ("rounds", "bytes_up", "bytes_down")}
    assert efficiency["rounds"] == 2 * 2 and efficiency["dropped_clients"] == 0  # summed over the 2 folds
    model_bytes = efficiency["bytes_down"] / (2 * 2 * 2)  # 2 folds x 2 rounds x 2 clients
    assert model_bytes > 11e6 * 4  # ResNet18 float32 weights went out to every client
    assert efficiency["bytes_up"] == efficiency["bytes_down"]
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["notes"]["superlink"] == federation.address

    # Flower's SecAgg+ between the SuperLink and the SuperNodes, each node clipping its own update (DP-FedAvg,
    # client-side clipping): the same folds in this process agree within the quantisation's rounding
    secure = ("--secure-aggregation", "--dp-epsilon", "8", "--set", "dp.mode=client", "--set", "dp.delta=0.1",
              "--set", "rounds=1")
    result = deployment_run(four_people, federation.address, tmp_path / "secure", *secure)
    assert result.exit_code == 0, result.output
    result = fedavg_run(four_people, tmp_path / "secure-inprocess", "--engine", "inprocess", *secure)
    assert result.exit_code == 0, result.output
    deployed, local = (json.loads((tmp_path / name / "metrics.json").read_text())
                       for name in ("secure", "secure-inprocess"))
    for dim in ("valence", "arousal"):
        assert deployed["ccc"][dim]["folds"] == pytest.approx(local["ccc"][dim]["folds"], abs=1e-3), dim
    assert deployed["privacy"]["secagg"]["engine"] == "flower" and local["privacy"]["secagg"]["engine"] == "inprocess"
    assert deployed["privacy"]["epsilon"] == local["privacy"]["epsilon"] <= 8

    # a stopped SuperNode: its client fails each round of the fold it trains in; the run goes on
    federation.stop_node("P01")
    result = deployment_run(four_people, federation.address, tmp_path / "without-P01", "--set", "rounds=1",
                            "--set", "min_clients=1")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "without-P01" / "metrics.json").read_text())
    assert metrics["efficiency"]["dropped_clients"] == 1  # P01's client, in the one round of its fold


def test_deployment_needs_a_superlink_address():
    result = runner.invoke(app, ["run", "--method", "fedavg", "--profile", "quick", "--engine", "deployment",
                                 "--no-progress"])
    assert result.exit_code == 2
    assert "needs --superlink HOST:PORT" in result.output


@pytest.mark.network
def test_an_unreachable_superlink_is_one_clear_error(tiny_dataset, tmp_path):
    result = deployment_run(tiny_dataset, f"127.0.0.1:{free_port()}", tmp_path / "r",
                            "--set", "deployment_timeout=60")
    assert result.exit_code == 2
    assert "127.0.0.1" in result.output and "without a result" in result.output
    assert not (tmp_path / "r").exists()
