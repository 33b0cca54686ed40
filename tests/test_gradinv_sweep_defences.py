"""``privbench attack gradinv``'s sweep over the defences: the k clients of a secure sum (``secagg_clients``)
and DP's ``dp.epsilon``, ``dp.mode`` and ``dp.max_grad_norm``. Each point is what ``--set KEY=VALUE`` gives,
checked as a whole attack; a defence key whose defence is off, or a bad value, is one line."""

from __future__ import annotations

import pandas as pd
import pytest
from test_attack_gradinv import QUICK, attack, runner

from privbench.attacks.gradinv.run import GradinvConfig
from privbench.attacks.gradinv.sweep import sweep_points
from privbench.cli import app
from privbench.config import build, override, profile_values

FAST = ("--set", "iterations=5", "--set", "sweep_iterations=5")


def quick(*assignments: str) -> GradinvConfig:
    return override(build(GradinvConfig, profile_values("gradinv", "quick"), "gradinv"), list(assignments))


def test_a_defence_point_is_the_config_set_would_give():
    points = sweep_points(quick("dp.epsilon=8", "dp.mode=local", "secagg.enabled=true",
                                "sweep=secagg_clients=2,4;dp.epsilon=1,3;dp.mode=client"))
    assert [(key, value) for key, value, _ in points] == [("secagg_clients", 2), ("secagg_clients", 4),
                                                          ("dp.epsilon", 1.0), ("dp.epsilon", 3.0),
                                                          ("dp.mode", "client")]
    assert [s.federation.secagg_clients for _, _, s in points] == [2, 4, 0, 0, 0]  # the grouped key's own field
    assert [s.dp.epsilon for _, _, s in points] == [8.0, 8.0, 1.0, 3.0, 8.0]
    assert [s.dp.mode for _, _, s in points] == ["local"] * 4 + ["client"]
    assert all(s.sweep == "" and s.secagg.enabled for _, _, s in points)


def test_a_sweep_over_the_clients_of_a_secure_sum_has_one_row_per_k(tiny_dataset, tmp_path):
    metrics = attack(tiny_dataset, tmp_path / "a", *FAST, "--secure-aggregation", "--set",
                     "sweep=secagg_clients=2,4")
    table = pd.read_csv(tmp_path / "a" / "sweep.csv")
    assert list(table["setting"]) == ["secagg_clients"] * 2 and list(table["value"]) == [2, 4]
    assert list(table["victims"]) == [2, 4]  # the victims of a point are the k clients of its sum
    assert set(table["mechanism"]) == {"secagg+"} and metrics["threat_model"]["not_scored"] == {}
    assert (tmp_path / "a" / "sweep.png").stat().st_size > 0


def test_a_sweep_over_local_dp_epsilon_draws_less_noise_at_larger_epsilon(tiny_dataset, tmp_path):
    attack(tiny_dataset, tmp_path / "a", *FAST, "--set", "victims=1", "--set", "sweep_victims=1", "--dp-epsilon",
           "8", "--set", "dp.mode=local", "--set", "sweep=dp.epsilon=1,8")
    table = pd.read_csv(tmp_path / "a" / "sweep.csv")
    assert list(table["value"]) == [1.0, 8.0] and set(table["mechanism"]) == {"dp-fedavg-local"}
    assert table["noise_std"][0] > table["noise_std"][1] > 0


@pytest.mark.parametrize("extra, needle", [
    (["--set", "sweep=secagg_clients=2,4"], "secagg_clients varies a defence that is off; add --secure-aggregation"),
    (["--set", "sweep=dp.epsilon=1,3"], "dp.epsilon varies a defence that is off; add --dp-epsilon"),
    (["--secure-aggregation", "--set", "sweep=secagg_clients=1,4"], "sweep secagg_clients=1: secagg_clients must be"),
    (["--dp-epsilon", "8", "--set", "sweep=dp.epsilon=1,0"], "sweep dp.epsilon=0: epsilon must be positive"),
    (["--dp-epsilon", "8", "--set", "sweep=dp.epsilon=1,lots"], "sweep dp.epsilon=lots: dp.epsilon: expected a "
                                                                "number"),
    (["--secure-aggregation", "--dp-epsilon", "8", "--set", "dp.mode=local", "--set", "sweep=dp.mode=server"],
     "sweep dp.mode=server: secure aggregation with dp.mode=server cannot work"),
])
def test_bad_defence_sweeps_are_one_line(tiny_dataset, tmp_path, extra, needle):
    result = runner.invoke(app, [*QUICK, "--data", str(tiny_dataset), "--out", str(tmp_path / "a"), *extra])
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split()) and len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "a").exists()
