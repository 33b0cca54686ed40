"""The seed paper's reported numbers (arXiv 2111.07344, on RECOLA: 23 participants, 8 folds), to show
beside privbench's: Table II (mean CCC) and Table III (efficiency of the best model per method)."""

from __future__ import annotations

PAPER = "the paper's (arXiv 2111.07344) on RECOLA"
# The paper's names of privbench's methods.
LEVELS = {"central": "raw images", "au": "action units", "fedavg": "federated"}

# Table II: (method, head) -> (valence, arousal) CCC.
TABLE_II: dict[tuple[str, str], tuple[float, float]] = {
    ("central", "bigru"): (0.415, 0.504), ("central", "bilstm"): (0.476, 0.515), ("central", "rnn"): (0.471, 0.486),
    ("au", "bigru"): (0.347, 0.401), ("au", "bilstm"): (0.269, 0.365), ("au", "rnn"): (0.183, 0.228),
    ("fedavg", "bigru"): (0.393, 0.273), ("fedavg", "bilstm"): (0.426, 0.390), ("fedavg", "rnn"): (0.304, 0.197),
}

# Table III (best model per method): training minutes (FL: total / clients), model MB, inference seconds
# for 100 and 500 images.
TABLE_III: dict[str, dict[str, float]] = {
    "central": {"train_minutes": 315.4, "model_mb": 43, "inference_100_s": 17.5, "inference_500_s": 22.9},
    "au": {"train_minutes": 141.5, "model_mb": 98, "inference_100_s": 1.35, "inference_500_s": 2.96},
    "fedavg": {"train_minutes": 599.2, "model_mb": 53, "inference_100_s": 19.7, "inference_500_s": 26.9},
}


def paper_ccc(method: str, head: str, defence: str = "none") -> tuple[float, float] | None:
    """Table II's (valence, arousal) CCC for this method and head, or None where the paper has none (it ran
    no defence)."""
    return TABLE_II.get((method, head)) if defence == "none" else None


def paper_efficiency(method: str, defence: str = "none") -> dict[str, float]:
    """Table III's numbers for this method (empty where the paper has none)."""
    return TABLE_III.get(method, {}) if defence == "none" else {}
