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


def roc_log(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str, path: Path) -> None:
    """ROC curves of several attacks (label -> (member, score)) on log-log axes, as membership-inference
    audits show them: the low false-positive region, where an attack is dangerous, spread out. Rates of 0 are
    drawn at the axes' edge, half the smallest rate the trials can show."""
    from sklearn.metrics import roc_curve

    plt = pyplot()
    figure, ax = plt.subplots(figsize=(4.6, 4.2))
    counts = [min(np.sum(member), np.sum(~np.asarray(member, bool))) for member, _ in curves.values()]
    floor = 0.5 / max(1, max(counts))
    for label, (member, score) in curves.items():
        fpr, tpr, _ = roc_curve(np.asarray(member, bool), score)
        ax.plot(np.maximum(fpr, floor), np.maximum(tpr, floor), label=label)
    ax.plot([floor, 1], [floor, 1], "--", color="grey", label="chance")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(floor, 1)
    ax.set_ylim(floor, 1.05)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
