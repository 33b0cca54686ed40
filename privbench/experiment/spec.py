"""A run's settings resolved and checked, and its paths checked, before torch or the data stack is
imported: a bad value or path is refused within a second (benchmarks/refusal_time.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privbench.config import PROFILES, build, override, profile_values
from privbench.data.manifest import Manifest, dataset_folder
from privbench.data.synthetic_config import SyntheticConfig
from privbench.errors import ConfigError
from privbench.io import OutputClaim
from privbench.methods.configs import config_type
from privbench.models import RNNS

DEVICES = ("auto", "cpu", "cuda")
OUT_HINT = "choose another --out"


@dataclass(frozen=True)
class RunSpec:
    """A fully resolved training run (saved as config.yaml)."""

    method: str
    rnn: str
    profile: str
    seed: int
    folds: int
    device: str
    data: str  # "synthetic" or a dataset folder
    synthetic: SyntheticConfig | None
    train: Any  # the method's config dataclass


def resolve(method: str, rnn: str, profile: str = "default", seed: int = 0, folds: int = 8,
            device: str = "auto", data: str = "synthetic", assignments: list[str] | None = None) -> RunSpec:
    """Profile values + ``--set`` overrides, checked; ``data.KEY`` keys go to the synthetic generator."""
    kind = config_type(method)
    RNNS.describe(rnn)
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    if device not in DEVICES:
        raise ConfigError(f"unknown device {device!r}; valid: {', '.join(DEVICES)}")
    synthetic, train_keys = resolve_data(data, profile, assignments or [])
    train = override(build(kind, profile_values(method, profile, rnn), f"configs/{method}.yaml"), train_keys)
    return RunSpec(method, rnn, profile, seed, folds, device, data, synthetic, train)


def resolve_data(data: str, profile: str, assignments: list[str]) -> tuple[SyntheticConfig | None, list[str]]:
    """The synthetic generator's settings (``data.KEY`` assignments applied; None for a dataset
    folder) and the remaining assignments."""
    data_keys = [a.removeprefix("data.") for a in assignments if a.startswith("data.")]
    rest = [a for a in assignments if not a.startswith("data.")]
    if data != "synthetic":
        if data_keys:
            raise ConfigError("--set data.KEY applies to --data synthetic only")
        return None, rest
    synthetic = build(SyntheticConfig, profile_values("synthetic", profile), "configs/synthetic.yaml")
    return override(synthetic, data_keys, "--set data."), rest


def check_before_run(spec: RunSpec, out: Path | None) -> None:
    """What can be told before any table is read: the fold count (against the synthetic data's
    participants), ``--data`` a dataset folder with a sound manifest.json, and ``--out`` an output
    folder that could be claimed now (claimed and released at once; ``run`` claims it again)."""
    if spec.folds < 2:
        raise ConfigError(f"--folds must be at least 2, got {spec.folds}")
    if spec.synthetic is not None and spec.folds > spec.synthetic.participants:
        raise ConfigError(f"--folds {spec.folds} is more than the {spec.synthetic.participants} participants in "
                          "the dataset")
    check_paths(spec.data, out)


def check_paths(data: str, out: Path | None) -> None:
    """``data`` ('synthetic' or a folder with a sound manifest.json) and ``out`` (None, or an output
    folder that could be claimed now: claimed and released at once; the command claims it again)."""
    if data != "synthetic":
        Manifest.load(dataset_folder(data) / "manifest.json")
    if out is not None:
        OutputClaim(Path(out), hint=OUT_HINT).abandon()
