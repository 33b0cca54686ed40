"""``privbench report``: tables, plots and findings from benchmark stores and result folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from privbench.cli.app import app


@app.command("report")
def report_command(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="STORE_OR_FOLDERS...", help="Benchmark stores (with store.json) and/or result folders.")],
    out: Annotated[Optional[Path], typer.Option(
        help="Report folder (default <store>/report for a store, else report/). An earlier report there is "
             "replaced once the new one is complete; any other folder is refused.")] = None,
) -> None:
    """Write report.md, a self-contained report.html, tables as CSV and plots as PNG (report.html's path is
    the last line)."""
    from privbench.report import build_report  # pandas and matplotlib: only once the options are checked

    written = build_report(list(inputs), out)
    found = written.found
    typer.echo(f"read {len(found.folders)} result folder(s) from {len(inputs)} input(s); "
               f"{len(found.failed)} failed job(s), {len(found.skipped)} skipped")
    for finding in written.findings:
        typer.echo(finding.summary())
    typer.echo(str(written.html))
