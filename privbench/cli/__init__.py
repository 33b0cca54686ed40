"""The ``privbench`` command line: one module per command group, wiring only."""

from privbench.cli import attack, bench, data, data_import, listing, report, run  # noqa: F401  (register the commands)
from privbench.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
