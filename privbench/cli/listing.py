"""``privbench list``: what can be run (names and descriptions only: nothing is imported)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from privbench.cli.app import app
from privbench.cli.options import FormatOption, OutputFormat
from privbench.config import PROFILES
from privbench.attacks import ATTACKS
from privbench.bench.targets import TARGETS
from privbench.defences import DEFENCES
from privbench.methods import ENGINES, METHODS, RNNS

PROFILE_DESCRIPTIONS = {
    "quick": "seconds: tiny data and models, for tests and smoke runs",
    "default": "minutes on 2 CPU cores: the README's main job",
    "paper": "the seed paper's Table I hyperparameters",
}


def catalogue() -> dict[str, list[dict[str, str]]]:
    """Methods, RNN heads, federated engines, attacks, defences, the benchmark's attack targets and profiles,
    each with its description."""
    pairs = {"methods": METHODS.items(), "rnns": RNNS.items(), "engines": ENGINES.items(),
             "attacks": ATTACKS.items(), "defences": DEFENCES.items(), "bench attacks": TARGETS.items(),
             "profiles": [(n, PROFILE_DESCRIPTIONS[n]) for n in PROFILES]}
    return {kind: [{"name": n, "description": d} for n, d in entries] for kind, entries in pairs.items()}


@app.command("list")
def list_command(output_format: FormatOption = OutputFormat.table) -> None:
    """List methods, RNN heads, federated engines, attacks, defences, bench attack targets and profiles."""
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
