"""Affect methods; importing this package registers them in ``METHODS``."""

from privbench.methods import au, central, fedavg  # noqa: F401  (register the methods)
from privbench.methods.base import METHODS, FoldOutput, Method

__all__ = ["METHODS", "FoldOutput", "Method"]
