"""A synthetic population of other people than the private data's: the privatiser's public population,
and an attacker's own population to train on."""

from __future__ import annotations

from privbench.config import build, override, profile_values
from privbench.data.generate import config_key, synthetic_dataset
from privbench.data.layout import Dataset
from privbench.data.synthetic import SyntheticConfig
from privbench.progress import Progress


def synthetic_population(seed: int, participants: int, seconds: float, progress: Progress,
                         where: str) -> tuple[Dataset, str]:
    """The synthetic corpus at its default settings with generator ``seed``, ``participants`` people of
    ``seconds`` each (AU tables only; cached like any synthetic data), and its cache key."""
    synthetic = override(build(SyntheticConfig, profile_values("synthetic", "default"), "configs/synthetic.yaml"),
                         [f"seed={seed}", f"participants={participants}", f"seconds={seconds}"], where)
    return Dataset(synthetic_dataset(synthetic, False, progress)), config_key(synthetic)
