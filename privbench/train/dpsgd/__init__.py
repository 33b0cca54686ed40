"""DP-SGD (Opacus) for the ``au`` and ``central`` methods and inside each ``fedavg`` client (``dp.mode=dpsgd``):
``DPSGD`` wraps a plain training stage (docs/defences.md)."""

from privbench.train.dpsgd.mechanism import GUARANTEES, DPSGD

__all__ = ["DPSGD", "GUARANTEES"]
