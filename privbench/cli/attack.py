"""``privbench attack reid``: run an attack on a dataset, write a result folder (its path is the last line)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from privbench.cli.app import attack_app
from privbench.cli.options import FormatOption, OutputFormat, ProfileOption, SetOption
from privbench.errors import ConfigError

DataOption = Annotated[str, typer.Option(
    help="'synthetic' (built in, cached) or a dataset folder (AU-only is enough).")]
SeedOption = Annotated[int, typer.Option(help="Seed for the segment split, the attack models and the bootstrap.")]
OutOption = Annotated[Optional[Path], typer.Option(help="Result folder (default results/<run_id>).")]
ProgressOption = Annotated[bool, typer.Option(help="Show progress bars on stderr.")]
FromRunOption = Annotated[Optional[Path], typer.Option(
    help="A run folder whose predictions.csv is released (with --set release=predictions).")]
UpdatesOption = Annotated[Optional[Path], typer.Option(
    help="A fedavg run folder with captured client updates (run with --set capture_updates_mb=N): attack "
         "those, as they are, instead of simulating a round.")]
RunOption = Annotated[Path, typer.Option(
    "--from-run", help="An au run folder (privbench run): its fold models (models/fold_<k>.pt) are attacked.")]
HEADLINE = {"reid": ("top1", "top5", "auc", "eer", "tpr_at_1fpr"), "gradinv": ("psnr", "ssim", "reid_rate"),
            "membership": ("auc", "tpr_at_1fpr", "tpr_at_01fpr", "balanced_accuracy", "epsilon_lower_bound")}


@attack_app.command("reid")
def reid_command(
    data: DataOption = "synthetic",
    profile: ProfileOption = "default",
    seed: SeedOption = 0,
    from_run: FromRunOption = None,
    set_: SetOption = None,
    out: OutOption = None,
    output_format: FormatOption = OutputFormat.table,
    progress: ProgressOption = True,
) -> None:
    """Re-identify people from released AU segments: top-1/top-5 (closed set), verification AUC/EER (open set)."""
    run_command("reid", data=data, profile=profile, seed=seed, from_run=from_run, assignments=list(set_ or []),
                out=out, output_format=output_format, progress=progress)


@attack_app.command("demographics")
def demographics_command(
    data: DataOption = "synthetic",
    profile: ProfileOption = "default",
    seed: SeedOption = 0,
    from_run: FromRunOption = None,
    set_: SetOption = None,
    out: OutOption = None,
    output_format: FormatOption = OutputFormat.table,
    progress: ProgressOption = True,
) -> None:
    """Infer each attribute of participants.csv for people the attack model never saw."""
    run_command("demographics", data=data, profile=profile, seed=seed, from_run=from_run,
                assignments=list(set_ or []), out=out, output_format=output_format, progress=progress)


@attack_app.command("gradinv")
def gradinv_command(
    data: DataOption = "synthetic",
    profile: ProfileOption = "default",
    seed: SeedOption = 0,
    updates: UpdatesOption = None,
    dp_epsilon: Annotated[Optional[float], typer.Option(
        help="Client-level DP on the simulated round at this epsilon (--set dp.mode=server|client|local).")] = None,
    secure_aggregation: Annotated[bool, typer.Option(
        help="The server sees only the SecAgg+ sum of the round's secagg_clients clients.")] = False,
    set_: SetOption = None,
    out: OutOption = None,
    output_format: FormatOption = OutputFormat.table,
    progress: ProgressOption = True,
) -> None:
    """Reconstruct clients' face frames from their federated updates: PSNR, SSIM, face re-identification."""
    if dp_epsilon is not None and dp_epsilon <= 0:
        raise ConfigError(f"--dp-epsilon must be positive, got {dp_epsilon}")
    defences = ([f"dp.epsilon={dp_epsilon}"] if dp_epsilon is not None else []) + (
        ["secagg.enabled=true"] if secure_aggregation else [])
    run_command("gradinv", data=data, profile=profile, seed=seed, from_run=updates,
                assignments=list(set_ or []) + defences, out=out, output_format=output_format, progress=progress)


@attack_app.command("membership")
def membership_command(
    from_run: RunOption,
    profile: ProfileOption = "default",
    seed: SeedOption = 0,
    set_: SetOption = None,
    out: OutOption = None,
    output_format: FormatOption = OutputFormat.table,
    progress: ProgressOption = True,
) -> None:
    """Was each person in a fold model's training set? Loss-threshold and LiRA attacks with shadow models; the
    epsilon lower bound beside the run's accountant."""
    from privbench.attacks.membership.target import dataset_of

    run_command("membership", data=dataset_of(from_run), profile=profile, seed=seed, from_run=from_run,
                assignments=list(set_ or []), out=out, output_format=output_format, progress=progress)


def run_command(attack: str, *, data: str, profile: str, seed: int, from_run: Path | None,
                assignments: list[str], out: Path | None, output_format: OutputFormat, progress: bool) -> None:
    """Resolve, run and report one attack (shared by every attack command)."""
    from privbench.experiment.spec import check_paths

    check_paths(data, out)  # before the data stack and torch are imported
    from privbench.attacks import ATTACKS
    from privbench.attacks.runner import resolve, run_attack
    from privbench.progress import Progress

    entry = ATTACKS.get(attack)
    spec = resolve(attack, entry.config_type, profile=profile, seed=seed, data=data, from_run=from_run,
                   assignments=assignments)
    with Progress(enabled=progress and output_format is OutputFormat.table) as bars:
        path, outcome = run_attack(spec, entry, out, bars)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"path": str(path), **outcome.metrics}, indent=2))
        return
    console = Console()
    console.print(summary_table(attack, outcome.metrics))
    for name, reason in outcome.metrics["threat_model"].get("not_scored", {}).items():
        console.print(f"{name}: not scored, {reason}", highlight=False)
    for line in defence_notes(outcome.metrics["threat_model"].get("defence")):
        console.print(line, highlight=False)
    for line in membership_notes(outcome.metrics) if attack == "membership" else []:
        console.print(line, highlight=False)
    typer.echo(str(path))


def summary_table(attack: str, metrics: dict) -> Table:
    """Each headline metric with its 95% interval beside chance, for the best attack model."""
    threat = metrics.get("threat_model", {})
    model = threat.get("best_model") or threat.get("best_attack") or threat.get("model", "?")
    seen = f"release {threat['release']}" if "release" in threat else f"update {threat.get('update', '?')}"
    if attack == "membership":
        seen, model = f"{threat['releases']} fold models", f"{model} (participant level)"
    table = Table(title=f"{attack} · {seen} · model {model}")
    for column in ("metric", "attack", "95% interval", "chance"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name in HEADLINE.get(attack, tuple(metrics["metrics"])):
        low, high = metrics["ci95"].get(name, (None, None))
        interval = "" if low is None else f"{low:.3f}-{high:.3f}"
        chance = metrics["baseline"].get(name)
        table.add_row(name, f"{metrics['metrics'][name]:.3f}", interval, "" if chance is None else f"{chance:.3f}")
    return table


def defence_notes(defence: dict | str | None) -> list[str]:
    """A simulated round's defence in words: what the server saw, whether it protects, its note (a captured
    run's defence, a sentence, is in metrics.json only)."""
    if not isinstance(defence, dict) or defence["mechanism"] == "none":
        return []
    return [f"defence {defence['mechanism']}: the server saw the {defence['server_saw']}; protects against this "
            f"adversary: {defence['protects_against_this_adversary']}", *([defence["note"]] if "note" in defence else [])]


def membership_notes(metrics: dict) -> list[str]:
    """The epsilon lower bound beside the accountant's, and the null test, in words."""
    compared = metrics["threat_model"]["epsilon_comparison"]
    bound = metrics["metrics"]["epsilon_lower_bound"]
    if compared["comparable"]:
        beside = f"below the accountant's epsilon {compared['accountant_epsilon']:.3f} (participant unit)"
    else:
        epsilon = compared["accountant_epsilon"]
        beside = ("" if epsilon is None else f"accountant's epsilon {epsilon:.3f}, ") + f"not comparable: {compared['reason']}"
    null = metrics["null_test"]
    verdict = "holds" if null["holds"] else "FAILS (an interval misses 0.5: check the attack)"
    aucs = ", ".join(f"{name} AUC {null[name]['auc']:.3f} ({null[name]['ci95'][0]:.3f}-{null[name]['ci95'][1]:.3f})"
                     for name in null if name != "holds")
    return [f"epsilon lower bound {bound:.3f}: {beside}", f"null test (unseen people as members) {verdict}: {aucs}"]
