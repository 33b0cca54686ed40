"""privbench: privacy evaluation of facial affect recognition (AUs, central and federated training)."""

from __future__ import annotations

from typing import Any

__all__ = ["ccc", "pcc", "rmse"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """The metrics (NumPy and torch) are imported on first use, so the command line starts without torch."""
    if name in __all__:
        from privbench.evaluate import metrics

        return getattr(metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
