"""Affect methods; importing this package registers them in ``METHODS``."""

from privbench.methods import au  # noqa: F401  (registers "au")
from privbench.methods.base import METHODS, FoldOutput, Method

__all__ = ["METHODS", "FoldOutput", "Method"]
