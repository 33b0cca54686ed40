"""What data a store's results were measured on: run.json ``dataset`` and config.yaml ``synthetic``."""

from __future__ import annotations

from dataclasses import dataclass

from privbench.results import ResultFolder


@dataclass(frozen=True)
class DataSet:
    """One data set of the inputs: its manifest name, path and the generator's settings (synthetic only)."""

    name: str
    path: str
    synthetic: dict | None

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None or self.name.startswith("synthetic")

    def describe(self) -> str:
        """One sentence: synthetic with its size and signal strengths, or the dataset folder."""
        s = self.synthetic
        if s:
            return (f"synthetic data {self.name} ({s.get('participants', '?')} participants x "
                    f"{s.get('seconds', '?')} s, identity_strength {s.get('identity_strength', '?')}, "
                    f"demographic_strength {s.get('demographic_strength', '?')}): drawn by privbench's generator, "
                    "not real people")
        if self.is_synthetic:
            return f"a synthetic dataset folder {self.name} at {self.path} (generator settings not recorded)"
        return f"the dataset folder {self.name} at {self.path} (imported data)"


def data_sets(folders: list[ResultFolder]) -> list[DataSet]:
    """The distinct data sets of ``folders``, in the order first seen."""
    found: dict[str, DataSet] = {}
    for folder in folders:
        name = str(folder.run.get("dataset", "?"))
        synthetic = folder.config.get("synthetic")
        found.setdefault(name, DataSet(name, str(folder.run.get("dataset_path", "?")),
                                       synthetic if isinstance(synthetic, dict) else None))
    return list(found.values())


def data_summary(folders: list[ResultFolder]) -> str:
    """'this store's data: ...' over every data set of the inputs."""
    sets = data_sets(folders)
    return "; ".join(d.describe() for d in sets) if sets else "unknown"
