"""``privbench data import-openface | import-recola | import-video | import-images`` (docs/importing.md)."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from privbench.cli.app import data_app
from privbench.progress import Progress

if TYPE_CHECKING:
    from privbench.data.importers.summary import ImportSummary


class GoldChoice(str, enum.Enum):
    mean = "mean"
    ewe = "ewe"
    provided = "provided"


OutOption = Annotated[Path, typer.Option(help="Dataset folder to create.")]
ForceOption = Annotated[bool, typer.Option(help="Replace OUT if it exists (only once the import succeeded).")]
ParticipantOption = Annotated[
    Optional[list[str]], typer.Option("--participant", help="Participant id per file, in order (default: file stems).")
]
MetadataOption = Annotated[
    Optional[Path], typer.Option(help="Participant table (comma or semicolon): id, gender, age, language, ...")
]
ConfidenceOption = Annotated[
    float, typer.Option(min=0, max=1, help="Mask OpenFace rows under this confidence too (0: success alone decides).")
]
GapOption = Annotated[int, typer.Option(min=0, help="Interpolate masked AU gaps of at most this many rows (0: none).")]
SizeOption = Annotated[int, typer.Option(min=16, max=512, help="Face crops are SIZE x SIZE RGB.")]
MarginOption = Annotated[int, typer.Option(min=0, help="Pixels of the crop added around MTCNN's face box.")]
BatchOption = Annotated[int, typer.Option(min=1, help="Frames decoded, detected and written together.")]
ProgressOption = Annotated[bool, typer.Option(help="Show progress bars on stderr.")]


@data_app.command("import-openface")
def import_openface_command(
    csvs: Annotated[list[Path], typer.Argument(
        metavar="CSV...", help="OpenFace 2.x FeatureExtraction CSVs, one per participant.",
    )],
    out: OutOption,
    participant: ParticipantOption = None,
    ratings: Annotated[Optional[list[Path]], typer.Option(
        help="Ratings CSV per participant, named <id>.csv: a time column and valence/arousal "
             "(or <dim>_<rater>) columns.",
    )] = None,
    metadata: MetadataOption = None,
    min_confidence: ConfidenceOption = 0.0,
    interpolate: GapOption = 0,
    force: ForceOption = False,
    progress: ProgressOption = True,
) -> None:
    """Import OpenFace CSVs; without --ratings the dataset is AU-only (for the AU attacks, refused by `run`)."""
    from privbench.data.importers.openface import Cleaning, import_openface

    with Progress(enabled=progress) as bars:
        summary = import_openface(csvs, out, participants=participant, ratings=ratings, metadata=metadata,
                                  cleaning=Cleaning(min_confidence, interpolate), force=force, progress=bars)
    report(summary, out)


@data_app.command("import-recola")
def import_recola_command(
    root: Annotated[Path, typer.Argument(help="A RECOLA tree: original (RECOLA-Annotation/...) or AVEC 2016 layout.")],
    out: OutOption,
    openface: Annotated[Optional[Path], typer.Option(help="Folder of OpenFace CSVs named <participant>.csv.")] = None,
    videos: Annotated[Optional[Path], typer.Option(
        help="Folder of videos named <participant>.<ext> (default: the layout's video folder, if present).",
    )] = None,
    frames: Annotated[bool, typer.Option(
        help="Turn videos into face frames (--no-frames: AUs only, no pixels).",
    )] = True,
    metadata: MetadataOption = None,
    gold: Annotated[GoldChoice, typer.Option(
        help="Gold standard: mean of the raters (the paper), ewe (AVEC's rater-weighted) "
             "or provided (the distribution's).",
    )] = GoldChoice.mean,
    delay: Annotated[float, typer.Option(help="Annotation delay to compensate, seconds (AVEC searched 0-8 s).")] = 0.0,
    min_confidence: ConfidenceOption = 0.0,
    interpolate: GapOption = 0,
    frame_size: SizeOption = 64,
    margin: MarginOption = 8,
    force: ForceOption = False,
    progress: ProgressOption = True,
) -> None:
    """Import RECOLA: ratings and gold standard, AUs aligned to the 40 ms rating grid, face frames, metadata."""
    from privbench.data.importers.openface import Cleaning
    from privbench.data.importers.recola import import_recola
    from privbench.data.importers.video import FaceSettings

    with Progress(enabled=progress) as bars:
        summary = import_recola(
            root, out, openface=openface, videos=videos, frames=frames, metadata=metadata, gold=gold.value,
            delay=delay, cleaning=Cleaning(min_confidence, interpolate),
            settings=FaceSettings(size=frame_size, margin=margin), force=force, progress=bars,
        )
    report(summary, out)


@data_app.command("import-video")
def import_video_command(
    videos: Annotated[list[Path], typer.Argument(metavar="VIDEO...", help="Videos, one per participant.")],
    out: OutOption,
    participant: ParticipantOption = None,
    metadata: MetadataOption = None,
    frame_size: SizeOption = 64,
    margin: MarginOption = 8,
    batch: BatchOption = 16,
    force: ForceOption = False,
    progress: ProgressOption = True,
) -> None:
    """Decode videos, crop the face of every frame with MTCNN, write frames.npy and frames.csv."""
    from privbench.data.importers.video import FaceSettings, import_video

    with Progress(enabled=progress) as bars:
        summary = import_video(videos, out, participants=participant, metadata=metadata,
                               settings=FaceSettings(size=frame_size, margin=margin, batch=batch), force=force,
                               progress=bars)
    report(summary, out)


@data_app.command("import-images")
def import_images_command(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="One sub-folder per identity, e.g. s1/1.pgm.")],
    out: OutOption,
    frame_size: SizeOption = 64,
    margin: MarginOption = 8,
    force: ForceOption = False,
    progress: ProgressOption = True,
) -> None:
    """Import a face-image folder as a gallery (faces aligned by MTCNN, else the whole image)."""
    from privbench.data.importers.images import import_images
    from privbench.data.importers.video import FaceSettings

    with Progress(enabled=progress) as bars:
        summary = import_images(folder, out, settings=FaceSettings(size=frame_size, margin=margin), force=force,
                                progress=bars)
    report(summary, out)


def report(summary: ImportSummary, out: Path) -> None:
    """The summary table, then the dataset folder as the last line."""
    from privbench.data.importers.summary import LABELS

    table = Table(title=f"imported into {out}", show_header=False, title_justify="left")
    for key, value in summary.counts().items():
        table.add_row(LABELS[key], f"{value:,}")
    Console().print(table)
    typer.echo(str(out))
