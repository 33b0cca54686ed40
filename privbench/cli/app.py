"""The typer apps; every command module registers itself on them."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from privbench.errors import InputError


class _Group(TyperGroup):
    """Turns bad input anywhere below into one line on stderr and exit status 2."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except InputError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_Group, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
    help="privbench: train affect-recognition methods (AUs, central, federated) and measure what they leak.",
)
data_app = typer.Typer(cls=_Group, no_args_is_help=True, help="Create, import and check datasets.")
app.add_typer(data_app, name="data")
