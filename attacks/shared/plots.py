"""Figures of attack results (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def length_curve(curves: pd.DataFrame, path: Path) -> None:
    """Top-1 re-identification against the released probe length and the reference length."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, axis in zip(axes, ("probe", "reference")):
        rows = curves[curves["axis"] == axis]
        labels = [("rest" if s == 0 else f"{s:g}") for s in rows["seconds"]]
        ax.plot(labels, rows["top1"], "o-", label="attack")
        ax.plot(labels, rows["chance"], "--", color="grey", label="chance")
        ax.set_xlabel(f"{axis} length (s)")
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("top-1 re-identification")
    axes[0].legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def roc(same: np.ndarray, similarity: np.ndarray, title: str, path: Path) -> None:
    """The verification ROC curve of unseen identities, with the chance diagonal."""
    from sklearn.metrics import roc_curve

    plt = pyplot()
    fpr, tpr, _ = roc_curve(same, similarity)
    figure, ax = plt.subplots(figsize=(4, 4))
    ax.plot(fpr, tpr, label="attack")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def attributes(table: pd.DataFrame, path: Path) -> None:
    """Participant-level balanced accuracy per attribute beside its majority baseline."""
    plt = pyplot()
    names = list(table["attribute"])
    figure, ax = plt.subplots(figsize=(1.6 + 1.2 * len(names), 3.4))
    ax.bar(names, table["balanced_accuracy"], color="tab:blue", label="attack (unseen people)")
    ax.scatter(names, 1 / table["classes"], color="grey", marker="_", s=600, label="majority baseline")
    ax.set_ylim(0, 1)
    ax.set_ylabel("balanced accuracy (per participant)")
    ax.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
