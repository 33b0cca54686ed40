"""Draw docs/figures/synthetic_sample.png: faces, AU traces and ratings of one synthetic participant.

Usage: python docs/figures/make_synthetic_figure.py  (writes next to this script; a few seconds)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from privbench.config import build, profile_values  # noqa: E402
from privbench.data.faces import render_frames  # noqa: E402
from privbench.data.generate import face_identity  # noqa: E402
from privbench.data.layout import AU_INTENSITY  # noqa: E402
from privbench.data.synthetic import SyntheticConfig, generate, people, stream  # noqa: E402

SECONDS = 60
SHOWN_AUS = ("AU06_r", "AU12_r", "AU04_r", "AU15_r", "AU25_r", "AU45_r")


def main() -> None:
    cfg = build(SyntheticConfig, profile_values("synthetic", "default"), "default")
    persons = people(cfg)
    n = int(SECONDS * cfg.fps)
    t = np.arange(n) / cfg.fps
    fig = plt.figure(figsize=(11, 9.5), constrained_layout=True)
    grid = fig.add_gridspec(4, 8, height_ratios=[1.1, 1.1, 1.6, 1.6])
    for row, index in enumerate((0, 1)):
        person = persons[index]
        s = generate(cfg, index, person)
        picks = np.linspace(0, n - 1, 8).astype(int)
        frames = np.zeros((len(picks), 96, 96, 3), np.uint8)
        render_frames(face_identity(cfg, index, person), s.expression[picks], 96, stream(cfg, index, "render"), frames,
                      nuisance_scale=cfg.frame_nuisance)
        for col, (frame, i) in enumerate(zip(frames, picks)):
            ax = fig.add_subplot(grid[row, col])
            ax.imshow(frame)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{person.participant_id} t={t[i]:.0f}s\nv={s.latent[i, 0]:+.2f} a={s.latent[i, 1]:+.2f}",
                         fontsize=7)
    s = generate(cfg, 0, persons[0])
    ax = fig.add_subplot(grid[2, :])
    for name in SHOWN_AUS:
        ax.plot(t, s.intensity[:n, AU_INTENSITY.index(name)], lw=0.8, label=name)
    ax.set_ylabel("AU intensity (measured)")
    ax.legend(ncol=6, fontsize=7, loc="upper right")
    ax.set_title(f"{persons[0].participant_id}: OpenFace-style AU intensities (noisy measurements of the face)", fontsize=9)
    ax = fig.add_subplot(grid[3, :])
    for a in range(s.ratings.shape[1]):
        ax.plot(t, s.ratings[:n, a, 0], lw=0.5, color="tab:blue", alpha=0.35)
    ax.plot(t, s.gold[:n, 0], lw=1.5, color="tab:blue", label="valence gold (mean of 6 annotators)")
    ax.plot(t, s.latent[:n, 0], lw=1.2, ls="--", color="navy", label="valence latent truth")
    ax.plot(t, s.gold[:n, 1], lw=1.5, color="tab:red", label="arousal gold")
    ax.plot(t, s.latent[:n, 1], lw=1.2, ls="--", color="darkred", label="arousal latent truth")
    ax.set_xlabel("seconds")
    ax.set_ylabel("rating")
    ax.set_title("annotators (thin), their mean (gold) and the latent affect they lag behind", fontsize=9)
    ax.legend(ncol=4, fontsize=7, loc="lower right")
    out = Path(__file__).with_name("synthetic_sample.png")
    fig.savefig(out, dpi=75)
    print(out)


if __name__ == "__main__":
    main()
