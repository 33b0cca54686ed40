"""What a gradinv result folder holds beside metrics.json: the reconstructions as a picture (true
frames above their reconstructions) and as arrays anyone can score with another face matcher.
Both are written inside the run's private folder, which appears whole or not at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from privbench.attacks.shared.plots import pyplot


def save_reconstructions(path: Path, *, reconstruction: np.ndarray, original: np.ndarray,
                         participant_id: np.ndarray, frame_index: np.ndarray) -> None:
    """reconstructions.npz: ``reconstruction`` and ``original`` uint8 [N, H, W, 3], ``participant_id`` and
    ``frame_index`` [N]."""
    if reconstruction.shape != original.shape or reconstruction.dtype != np.uint8:
        raise ValueError(f"reconstructions {reconstruction.shape} {reconstruction.dtype} do not match the originals "
                         f"{original.shape}")
    np.savez_compressed(path, reconstruction=reconstruction, original=original,
                        participant_id=np.asarray(participant_id, dtype=str),
                        frame_index=np.asarray(frame_index, dtype=np.int64))


def plot_reconstructions(path: Path, *, reconstruction: np.ndarray, original: np.ndarray, psnr: np.ndarray,
                         labels: list[str], columns: int = 8) -> None:
    """reconstructions.png: pairs of rows, true frames above their reconstructions (PSNR in the title)."""
    plt = pyplot()
    count = len(original)
    columns = min(columns, count)
    blocks = -(-count // columns)
    figure, axes = plt.subplots(2 * blocks, columns, figsize=(1.6 * columns, 3.4 * blocks), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(count):
        row, column = 2 * (i // columns), i % columns
        axes[row, column].imshow(original[i])
        axes[row, column].set_title(labels[i], fontsize=7)
        axes[row + 1, column].imshow(reconstruction[i])
        axes[row + 1, column].set_title(f"{psnr[i]:.1f} dB", fontsize=7)
    figure.suptitle("true frames (above) and their reconstructions from the client update", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
