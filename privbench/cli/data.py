"""``privbench data synth`` and ``privbench data validate``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from privbench.cli.app import data_app
from privbench.cli.options import FormatOption, OutputFormat, ProfileOption, SetOption
from privbench.config import build, override, profile_values
from privbench.progress import Progress

if TYPE_CHECKING:
    from privbench.data.validate import DatasetReport


@data_app.command("synth")
def synth_command(
    out: Annotated[Path, typer.Option(help="Folder to create.")],
    profile: ProfileOption = "default",
    set_: SetOption = None,
    frames: Annotated[bool, typer.Option(help="Render face frames (--no-frames: an AU-only dataset).")] = True,
    force: Annotated[bool, typer.Option(help="Replace OUT if it exists.")] = False,
) -> None:
    """Generate the synthetic RECOLA-like dataset (docs/data.md) into OUT."""
    from privbench.data.synthetic_config import SyntheticConfig
    from privbench.io import OutputClaim

    cfg = build(SyntheticConfig, profile_values("synthetic", profile), "configs/synthetic.yaml")
    cfg = override(cfg, [a.removeprefix("data.") for a in set_ or []])
    OutputClaim(out, force=force).abandon()  # a bad setting or --out: refused before the data stack is imported
    from privbench.data.generate import write_synthetic

    with Progress() as bars:
        write_synthetic(cfg, out, force=force, frames=frames, progress=bars)
    typer.echo(str(out))


@data_app.command("validate")
def validate_command(
    folder: Annotated[Path, typer.Argument(help="A dataset in the privbench layout.")],
    output_format: FormatOption = OutputFormat.table,
) -> None:
    """Check a dataset's consistency and report what it holds (exit 2 if inconsistent)."""
    from privbench.data.validate import validate

    report = validate(folder)
    if output_format is OutputFormat.json:
        record = dataclasses.asdict(report) | {"root": str(report.root), "kinds": report.kinds}
        typer.echo(json.dumps(record, indent=2))
        return
    Console().print(report_table(report))


def report_table(report: DatasetReport) -> Table:
    table = Table(title=f"{report.root} · valid", show_header=False, title_justify="left")
    shape = "x".join(map(str, report.frame_shape)) if report.frame_shape else "-"
    pixels = (f"yes: {len(report.pixel_files)} file(s), e.g. {report.pixel_files[0]}" if report.pixel_files
              else "none (no frames, images or videos in any file)")
    rows = [
        ("name", report.name), ("holds", ", ".join(report.kinds)), ("participants", str(report.participants)),
        ("frames (rows)", f"{report.frames_total:,} at {report.fps:g} fps"),
        ("masked AU rows (success = 0)", f"{report.masked_rows:,}"),
        ("masked frames (no face)", f"{report.masked_frames:,}"),
        ("with action units", f"{report.with_aus}/{report.participants} ({report.au_columns} columns)"),
        ("annotators", ", ".join(report.annotators) or "-"),
        ("with ratings", f"{report.with_ratings}/{report.participants}"),
        ("with face frames", f"{report.with_frames}/{report.participants} ({shape})"),
        ("metadata fields", ", ".join(f"{k} ({v})" for k, v in report.metadata_fields.items()) or "-"),
        ("pixel data", pixels),
    ]
    if report.counts:
        rows.append(("importer counts", ", ".join(f"{k} {v:,}" for k, v in report.counts.items())))
    if report.other_files:
        rows.append(("other files", ", ".join(report.other_files[:5])))
    for label, value in rows:
        table.add_row(label, value)
    return table
