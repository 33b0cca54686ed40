"""Figures from the attack folders' own files: the reid segment-length curve (curves.csv) and the
gradinv reconstructions beside the true frames (reconstructions.png, else rebuilt from reconstructions.npz)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from privbench.report.document import Figure, number
from privbench.report.plots import COLOURS, png, pyplot
from privbench.report.records import AttackRun

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "run"


def _curves(run: AttackRun) -> pd.DataFrame | None:
    path = run.folder.path / "curves.csv"
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        return None
    return table if {"axis", "seconds", "top1", "chance"} <= set(table.columns) else None


def segment_length(attacks: list[AttackRun]) -> Figure | None:
    """Top-1 re-identification against the probe's length (and the reference's), one line per reid folder."""
    found = [(run, table) for run in attacks if run.attack == "reid" and (table := _curves(run)) is not None]
    if not found:
        return None
    plt = pyplot()
    axes_names = [a for a in ("probe", "reference") if any((t["axis"] == a).any() for _, t in found)]
    figure, axes = plt.subplots(1, len(axes_names), figsize=(4.6 * len(axes_names), 3.6), squeeze=False, sharey=True)
    for ax, axis in zip(axes.flat, axes_names):
        for i, (run, table) in enumerate(found):
            rows = table[table["axis"] == axis].sort_values("seconds")
            ax.plot(rows["seconds"], rows["top1"], "o-", color=COLOURS[i % len(COLOURS)],
                    label=f"{run.short_release} ({run.target_label})")
            for chance in sorted(set(rows["chance"])):
                ax.axhline(chance, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel(f"{axis} length (s; 0: the rest of the session)")
        ax.set_ylim(0, 1.02)
    axes.flat[0].set_ylabel("top-1 re-identification")
    axes.flat[0].legend(fontsize=7, loc="best", title="dashed: chance", title_fontsize=7)
    figure.tight_layout()
    return png(figure, "segment_length", "Re-identification against how much the adversary sees: top-1 for probes "
                                         "(and references) of each length; dashed: chance.")


def _rebuilt(run: AttackRun) -> bytes | None:
    """True frames above their reconstructions, from reconstructions.npz."""
    try:
        with np.load(run.folder.path / "reconstructions.npz") as held:
            original, reconstruction = held["original"], held["reconstruction"]
    except (OSError, KeyError, ValueError):
        return None
    count = min(len(original), 8)
    if count == 0:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(2, count, figsize=(1.3 * count, 2.9), squeeze=False)
    for i in range(count):
        for row, images in enumerate((original, reconstruction)):
            axes[row, i].imshow(images[i].squeeze(), cmap="gray" if images[i].squeeze().ndim == 2 else None)
            axes[row, i].axis("off")
    axes[0, 0].set_title("true", fontsize=8, loc="left")
    axes[1, 0].set_title("reconstructed", fontsize=8, loc="left")
    figure.tight_layout()
    return png(figure, "rebuilt", "").png


def reconstructions(attacks: list[AttackRun]) -> list[Figure]:
    """Each gradinv folder's reconstructions beside the true frames."""
    found = []
    for run in (r for r in attacks if r.attack == "gradinv"):
        path = run.folder.path / "reconstructions.png"
        image = path.read_bytes() if path.is_file() else None
        if image is None or not image.startswith(PNG_MAGIC):
            image = _rebuilt(run)
        if image is None:
            continue
        whose = f" of {run.target_label}" if run.target else (f" [data {run.data}]" if run.data else "")
        caption = (f"gradinv on {run.release}{whose}: true frames above their reconstructions; "
                   f"PSNR {number(run.value('psnr'), 1)} dB against the mean face's {number(run.baseline('psnr'), 1)}.")
        found.append(Figure(f"reconstructions-{_slug(run.folder.path.name)}", caption, image))
    return found
