"""``privbench list``: what can be run."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from privbench.cli.app import app
from privbench.cli.options import FormatOption, OutputFormat
from privbench.config import PROFILES
from privbench.methods import METHODS
from privbench.methods.fedavg import ENGINES
from privbench.models.heads import RNNS


def catalogue() -> dict[str, list[dict[str, str]]]:
    return {
        "methods": [{"name": n, "description": METHODS.get(n).description} for n in METHODS.names()],
        "rnns": [{"name": n, "description": _rnn_description(n)} for n in RNNS.names()],
        "engines": [{"name": n, "description": d} for n, d in zip(ENGINES, (
            "fedavg clients one after another in this process (deterministic)",
            "fedavg on Flower's simulation runtime (Ray), one SuperNode per participant",
            "fedavg on a running Flower SuperLink, one SuperNode per participant (--superlink HOST:PORT)",
        ))],
        "profiles": [{"name": n, "description": d} for n, d in zip(PROFILES, (
            "seconds: tiny data and models, for tests and smoke runs",
            "minutes on 2 CPU cores: the README's main job",
            "the seed paper's Table I hyperparameters",
        ))],
    }


def _rnn_description(name: str) -> str:
    kind = RNNS.get(name)
    return f"{'bidirectional ' if kind.bidirectional else ''}{kind.layer.__name__}"


@app.command("list")
def list_command(output_format: FormatOption = OutputFormat.table) -> None:
    """List methods, RNN heads, federated engines and profiles."""
    items = catalogue()
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(items, indent=2))
        return
    console = Console()
    for kind, entries in items.items():
        table = Table(title=kind, show_header=False, title_justify="left")
        for entry in entries:
            table.add_row(entry["name"], entry["description"])
        console.print(table)
