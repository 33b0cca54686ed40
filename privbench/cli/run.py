"""``privbench run``: train and cross-validate one method."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from privbench.cli.app import app
from privbench.cli.options import FormatOption, OutputFormat, ProfileOption, SetOption
from privbench.defences import dp_assignments
from privbench.errors import ConfigError
from privbench.methods import ENGINES
from privbench.progress import Progress

if TYPE_CHECKING:
    from privbench.experiment import RunOutcome

EFFICIENCY_LABELS = {
    "train_seconds": ("training time", "{:.1f} s"),
    "train_frames_per_second": ("training throughput", "{:,.0f} frames/s"),
    "seconds_per_epoch": ("time per epoch", "{:.2f} s"),
    "inference_seconds_per_100_frames": ("inference, 100 frames", "{:.4f} s"),
    "inference_seconds_per_500_frames": ("inference, 500 frames", "{:.4f} s"),
    "model_size_mb": ("model size", "{:.3f} MB"),
    "parameters": ("parameters", "{:,}"),
    "peak_rss_mb": ("peak memory (RSS)", "{:,.0f} MB"),
    "train_seconds_parallel": ("training time, parallel clients", "{:.1f} s"),
    "client_seconds": ("client compute, summed", "{:.1f} s"),
    "train_seconds_per_client": ("training time / clients (the paper's FL time)", "{:.1f} s"),
    "bytes_up": ("sent by clients", "{:,.0f} bytes"),
    "bytes_down": ("sent to clients", "{:,.0f} bytes"),
    "rounds": ("federated rounds (all folds)", "{:,}"),
    "dropped_clients": ("dropped client updates", "{:,}"),
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
    engine: Annotated[Optional[str], typer.Option(
        help="fedavg only: inprocess, flower (Flower simulation) or deployment (needs --superlink).")] = None,
    superlink: Annotated[Optional[str], typer.Option(
        help="deployment engine: the SuperLink's Control API address, HOST:PORT.")] = None,
    dp_epsilon: Annotated[Optional[float], typer.Option(
        help="au, central: train with DP-SGD (Opacus) to this epsilon per fold model (docs/defences.md).")] = None,
    dp_delta: Annotated[Optional[float], typer.Option(help="DP-SGD's delta (default 1e-5).")] = None,
    secure_aggregation: Annotated[bool, typer.Option(
        help="fedavg: the server learns only each round's sum of updates (Flower's SecAgg+; docs/defences.md).")] = False,
    set_: SetOption = None,
    out: Annotated[Optional[Path], typer.Option(help="Result folder (default results/<run_id>).")] = None,
    output_format: FormatOption = OutputFormat.table,
    progress: Annotated[bool, typer.Option(help="Show progress bars on stderr.")] = True,
) -> None:
    """Train METHOD with an RNN head; CCC per fold; write a result folder (its path is the last line)."""
    assignments = list(set_ or []) + federated_assignments(method, engine, superlink, secure_aggregation)
    if dp_epsilon is not None:
        assignments = dp_assignments(method, dp_epsilon, delta=dp_delta, given=assignments)
    elif dp_delta is not None:
        raise ConfigError("--dp-delta needs --dp-epsilon")
    from privbench import experiment  # torch-free: settings and paths are checked before torch is imported

    spec = experiment.resolve(method, rnn, profile, seed, folds, device, data, assignments)
    experiment.check_before_run(spec, out)
    with Progress(enabled=progress and output_format is OutputFormat.table) as bars:
        outcome = experiment.run(spec, out, bars)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"path": str(outcome.path), **outcome.metrics}, indent=2))
        return
    console = Console()
    console.print(*summary_tables(outcome))
    privacy = outcome.metrics.get("privacy", {})
    if "epsilon" in privacy:
        console.print(privacy_line(privacy), highlight=False)
    if "secagg" in privacy:
        console.print(secagg_line(privacy["secagg"]), highlight=False)
    for key, note in outcome.result.notes.items():
        console.print(f"{key.replace('_', ' ')}: {note}", highlight=False)
    typer.echo(str(outcome.path))


def federated_assignments(method: str, engine: str | None, superlink: str | None,
                          secure_aggregation: bool = False) -> list[str]:
    """``--engine``, ``--superlink`` and ``--secure-aggregation`` as config assignments, checked: fedavg only, a
    known engine."""
    assignments = []
    if secure_aggregation:
        if method != "fedavg":
            raise ConfigError(f"--secure-aggregation applies to --method fedavg, not {method}")
        assignments.append("secagg.enabled=true")
    if engine is not None:
        if method != "fedavg":
            raise ConfigError(f"--engine applies to --method fedavg, not {method}")
        ENGINES.describe(engine)  # an unknown engine: one line listing the valid ones
        assignments.append(f"engine={engine}")
    if superlink is not None:
        if method != "fedavg":
            raise ConfigError(f"--superlink applies to --method fedavg, not {method}")
        assignments.append(f"superlink={superlink}")
    return assignments


def summary_tables(outcome: RunOutcome) -> tuple[Table, Table]:
    """Accuracy (mean ± std over folds, beside the constant predictor) and efficiency."""
    from privbench.data.layout import DIMENSIONS

    spec, metrics = outcome.spec, outcome.metrics
    title = f"{spec.method} / {spec.rnn} · {spec.profile} profile · {spec.folds} folds · seed {spec.seed}"
    accuracy = Table(title=title)
    accuracy.add_column("metric")
    for dim in DIMENSIONS:
        accuracy.add_column(dim, justify="right")
    for dim in DIMENSIONS:
        accuracy.add_column(f"constant {dim[:3]}.", justify="right", style="dim")
    constant = metrics["baseline"]["constant"]
    for name in ("ccc", "pcc", "rmse"):
        cells = [_mean_std(metrics[name][d]) for d in DIMENSIONS] + [_mean_std(constant[name][d]) for d in DIMENSIONS]
        accuracy.add_row(name.upper(), *cells)
    cost = Table(title="efficiency", show_header=False)
    for key, value in metrics["efficiency"].items():
        label, fmt = EFFICIENCY_LABELS.get(key, (key, "{}"))
        cost.add_row(label, fmt.format(value))
    return accuracy, cost


def privacy_line(privacy: dict) -> str:
    """The DP guarantee of the run's fold models, in one line."""
    return (f"privacy: ({privacy['epsilon']:.2f}, {privacy['delta']:g})-DP per fold model (the largest; target "
            f"{privacy['target_epsilon']:g}), {privacy['accountant']} accountant, unit {privacy['unit']} "
            f"({privacy['guarantee']}); noise multiplier {privacy['noise_multiplier']:.3f}, clipping norm "
            f"{privacy['max_grad_norm']:g}, sample rate {privacy['sample_rate']:.4f}, "
            + (f"{privacy['steps']} steps" if "steps" in privacy else f"{privacy['rounds']} rounds"))


def secagg_line(secagg: dict) -> str:
    """Secure aggregation's settings and measured error, in one line."""
    error = secagg["max_abs_error"]
    return (f"secure aggregation: SecAgg+ ({secagg['engine']}), the server saw only each round's sum; clipping range "
            f"{secagg['clipping_range']:g}, quantisation range {secagg['quantization_range']}, reconstruction "
            f"threshold {secagg['reconstruction_threshold']}; max |secure - plain| of the mean update "
            + (f"{error:.3g} (step {secagg['quantisation_step']:.3g})" if isinstance(error, float) else error))


def _mean_std(stats: dict) -> str:
    return f"{round(stats['mean'], 3) + 0.0:.3f}±{stats['std']:.3f}"
