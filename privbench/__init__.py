"""privbench: privacy evaluation of facial affect recognition (AUs, central and federated training)."""

from privbench.evaluate.metrics import ccc, pcc, rmse

__all__ = ["ccc", "pcc", "rmse"]
__version__ = "0.1.0"
