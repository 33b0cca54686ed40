"""The typer apps; every command module registers itself on them.

Command modules import heavy modules (torch, Flower, pandas, privbench.experiment) inside the commands
that use them, so help, ``list`` and option errors answer at once.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

import click
import typer
from typer.core import TyperGroup

from privbench.errors import InputError, one_line

INTERRUPTED = "interrupted: nothing was written"


class _Group(TyperGroup):
    """One line on stderr instead of a traceback or a box: ``error: ...`` (exit 2) or ``interrupted: ...`` (130)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InputError as err:
            typer.echo(f"error: {one_line(err)}", err=True)
            raise typer.Exit(2) from None
        except (KeyboardInterrupt, click.exceptions.Abort):
            typer.echo(INTERRUPTED, err=True)
            raise typer.Exit(130) from None

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """Click's main with every error as one line; outside standalone mode, errors propagate as in click."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError:  # typer printed the help while raising it
            status = 0
        except click.ClickException as err:
            typer.echo(f"error: {err.format_message()}", err=True)
            status = err.exit_code
        except click.exceptions.Abort:
            typer.echo(INTERRUPTED, err=True)
            status = 130
        sys.exit(status if isinstance(status, int) else 0)  # an Exit's status, or a command's None


app = typer.Typer(
    cls=_Group, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    help="privbench: train affect-recognition methods (AUs, central, federated) and measure what they leak.",
)
data_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Create, import and check datasets.")
app.add_typer(data_app, name="data")
attack_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Attack a dataset or a run: what does it leak?")
app.add_typer(attack_app, name="attack")
