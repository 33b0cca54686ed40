"""``privbench run``: train and cross-validate one method."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from privbench import experiment
from privbench.cli.app import app
from privbench.cli.options import FormatOption, OutputFormat, ProfileOption, SetOption
from privbench.data.layout import DIMENSIONS
from privbench.progress import Progress

EFFICIENCY_LABELS = {
    "train_seconds": ("training time", "{:.1f} s"),
    "train_frames_per_second": ("training throughput", "{:,.0f} frames/s"),
    "seconds_per_epoch": ("time per epoch", "{:.2f} s"),
    "inference_seconds_per_100_frames": ("inference, 100 frames", "{:.4f} s"),
    "inference_seconds_per_500_frames": ("inference, 500 frames", "{:.4f} s"),
    "model_size_mb": ("model size", "{:.3f} MB"),
    "parameters": ("parameters", "{:,}"),
    "peak_rss_mb": ("peak memory (RSS)", "{:,.0f} MB"),
}


@app.command("run")
def run_command(
    method: Annotated[str, typer.Option(help="au, central or fedavg (privbench list).")] = "au",
    rnn: Annotated[str, typer.Option(help="rnn, bigru or bilstm.")] = "bigru",
    data: Annotated[str, typer.Option(help="'synthetic' (built in, cached) or a dataset folder.")] = "synthetic",
    profile: ProfileOption = "default",
    folds: Annotated[int, typer.Option(help="Participant-independent folds.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed for folds, initialisation and shuffling.")] = 0,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    set_: SetOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Result folder (default results/<run_id>).")] = None,
    output_format: FormatOption = OutputFormat.table,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
) -> None:
    """Train METHOD with an RNN head; CCC per fold; write a result folder (its path is the last line)."""
    spec = experiment.resolve(method, rnn, profile, seed, folds, device, data, set_ or [])
    with Progress(enabled=progress and output_format is OutputFormat.table) as bars:
        outcome = experiment.run(spec, out, bars)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"path": str(outcome.path), **outcome.metrics}, indent=2))
        return
    Console().print(summary_table(outcome))
    typer.echo(str(outcome.path))


def summary_table(outcome: experiment.RunOutcome) -> Table:
    """CCC/PCC/RMSE (mean ± std over folds) beside the constant predictor, then efficiency."""
    spec, metrics = outcome.spec, outcome.metrics
    table = Table(title=f"{spec.method} / {spec.rnn} · profile {spec.profile} · {spec.folds} folds · seed {spec.seed}")
    table.add_column("metric")
    for dim in DIMENSIONS:
        table.add_column(dim, justify="right")
        table.add_column(f"{dim} (constant)", justify="right", style="dim")
    constant = metrics["baseline"]["constant"]
    for name in ("ccc", "pcc", "rmse"):
        cells = []
        for dim in DIMENSIONS:
            cells.append(_mean_std(metrics[name][dim]))
            cells.append(_mean_std(constant[name][dim]))
        table.add_row(name.upper(), *cells)
    table.add_section()
    for key, value in metrics["efficiency"].items():
        label, fmt = EFFICIENCY_LABELS.get(key, (key, "{}"))
        table.add_row(label, fmt.format(value), "", "", "")
    return table


def _mean_std(stats: dict) -> str:
    return f"{stats['mean']:.3f} ± {stats['std']:.3f}"
