"""``privbench bench``: run a matrix of train runs and attacks into a resumable results store."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from privbench.cli.app import app
from privbench.cli.options import FormatOption, OutputFormat
from privbench.errors import ConfigError

if TYPE_CHECKING:
    from privbench.bench.jobs import Job
    from privbench.bench.matrix import BenchConfig
    from privbench.bench.store import Store

def packaged() -> list[str]:
    """The bench configs that ship with privbench (configs/bench/*.yaml), by name."""
    folder = resources.files("privbench").joinpath("configs", "bench")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@app.command("bench")
def bench_command(
    config: Annotated[str, typer.Argument(help="A bench YAML, or a packaged one: quick, default, paper, dp, dp-central.")],
    out: Annotated[Optional[Path], typer.Option(help="The results store (default results/bench-<config name>).")] = None,
    jobs: Annotated[int, typer.Option(help="Jobs at once, each in its own process on this machine.")] = 1,
    ray: Annotated[Optional[str], typer.Option(
        help="Run each job as a Ray task on an existing cluster: HOST:PORT, ray://HOST:PORT, or local.")] = None,
    data: Annotated[Optional[str], typer.Option(help="Replace the config's data: synthetic or a dataset folder.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the jobs, which are done, and an estimate.")] = False,
    output_format: FormatOption = OutputFormat.table,
    progress: Annotated[bool, typer.Option(help="Show the live display on stderr.")] = True,
) -> None:
    """Run CONFIG's matrix (methods x heads x defences x seeds, and the attacks on what each releases)
    into a store; complete jobs are skipped, so a rerun resumes. The store's path is the last line."""
    from privbench.bench.matrix import load_bench

    bench = load_bench(config_path(config), data=data)
    root = out if out is not None else Path("results") / f"bench-{bench.name}"
    if dry_run:
        from privbench.bench.jobs import expand  # torch and the data stack: only once the config is checked
        from privbench.bench.store import Store

        store = Store.open(root, create=False) if (root / "store.json").exists() else None
        show_plan(expand(bench), store, output_format)
        return
    run_bench(bench, root, jobs=jobs, ray=ray, output_format=output_format, progress=progress)


def config_path(config: str) -> Path:
    """A file path as given, else a packaged bench config by name."""
    path = Path(config)
    if path.exists() or config not in packaged():
        if not path.exists():
            raise ConfigError(f"{config}: no such bench config (packaged: {', '.join(packaged())})")
        return path
    return Path(str(resources.files("privbench").joinpath("configs", "bench", f"{config}.yaml")))


def run_bench(bench: BenchConfig, root: Path, *, jobs: int, ray: str | None, output_format: OutputFormat,
              progress: bool) -> None:
    """Start the backend (its workers warm up while the jobs are resolved), then run every job."""
    from privbench.bench.backends import backend_for
    from privbench.bench.display import Display
    from privbench.bench.estimate import estimates
    from privbench.bench.jobs import expand
    from privbench.bench.schedule import run_jobs
    from privbench.bench.store import Store

    backend = backend_for(str(root.resolve()), jobs=jobs, ray=ray)  # an unreachable cluster: before the store
    try:
        planned = expand(bench)  # a setting a method refuses: before the store
        store = Store.open(root, create=True)
        guesses = estimates(planned, store.seconds())
        with Display(planned, guesses, enabled=progress and output_format is OutputFormat.table) as display:
            outcome = run_jobs(planned, store, backend, display, estimates=guesses)
    finally:
        backend.close()
    failed = outcome.count("failed")
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"store": str(root), "jobs": [
            {"job": j.label, "folder": j.folder, "status": outcome.status.get(j.key), "error": outcome.errors.get(j.key),
             "seconds": outcome.seconds.get(j.key)} for j in planned]}, indent=2))
    else:
        console = Console()
        console.print(f"{len(planned)} jobs: {outcome.count('complete')} run, {outcome.count('skipped')} already "
                      f"complete, {failed} failed", highlight=False)
        for job in planned:
            if job.key in outcome.errors:
                console.print(f"failed: {job.label}: {outcome.errors[job.key]}", highlight=False, markup=False)
        console.print(f"report: privbench report {root}", highlight=False)
        typer.echo(str(root))
    if failed:
        raise typer.Exit(1)


def show_plan(planned: list[Job], store: Store | None, output_format: OutputFormat) -> None:
    """Every job, whether the store holds it, and the estimated cost of the rest."""
    from privbench.bench.estimate import describe_seconds, estimates

    guesses = estimates(planned, store.seconds() if store else {})
    rows = []
    for job in planned:
        status = "complete" if store and store.is_complete(job.folder) else "to run"
        if status == "to run" and store and store.failure(job.key):
            status = "failed (retried)"
        rows.append({"job": job.label, "kind": job.kind, "folder": job.folder, "status": status,
                     "estimate_seconds": None if status == "complete" else guesses[job.key]})
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"store": str(store.root) if store else None, "jobs": rows}, indent=2))
        return
    table = Table(title=f"{len(rows)} jobs" + (f" · store {store.root}" if store else " · new store"))
    for column in ("job", "kind", "status", "estimate"):
        table.add_column(column, justify="right" if column == "estimate" else "left")
    for row in rows:
        table.add_row(row["job"], row["kind"], row["status"],
                      "" if row["status"] == "complete" else describe_seconds(row["estimate_seconds"]))
    console = Console()
    console.print(table)
    remaining = [r["estimate_seconds"] for r in rows if r["status"] != "complete"]
    known = [s for s in remaining if s is not None]
    console.print(f"to run: {len(remaining)} jobs; measured cost of similar jobs: {describe_seconds(sum(known))} "
                  f"for {len(known)} of them (one at a time)" + ("; no similar job measured for the others"
                                                                   if len(known) < len(remaining) else ""),
                  highlight=False)
