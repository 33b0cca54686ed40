"""How close reconstructed faces are to the true ones: PSNR and SSIM per frame (torchmetrics), and the
mean-face baseline, the score of an attacker who outputs the average face of a gallery for everyone.

Frames are [N, H, W, 3] arrays of grey levels 0..255 (uint8, or floats in that range), compared with a
data range of 255. An identical frame has an infinite PSNR; it is reported as ``MAX_PSNR`` so that
means stay finite and metrics.json (which refuses non-finite numbers) can hold it. Any real error is
far below: one grey level wrong in one channel of one pixel of a 64 x 64 frame is 88.9 dB.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_PSNR = 100.0  # dB, the PSNR reported for an exact copy


@dataclass(frozen=True)
class Quality:
    """Per-frame PSNR (dB, at most ``MAX_PSNR``) and SSIM (1 = identical) of [N] frames."""

    psnr: np.ndarray
    ssim: np.ndarray

    def means(self) -> dict[str, float]:
        """The mean over frames of each score: {"psnr": dB, "ssim": ...}."""
        return {"psnr": float(self.psnr.mean()), "ssim": float(self.ssim.mean())}


def image_quality(reconstructed: np.ndarray, original: np.ndarray) -> Quality:
    """PSNR and SSIM (11 px Gaussian window, sigma 1.5, averaged over colour channels) of each
    reconstructed frame against the original frame at the same index."""
    import torch
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    rec, orig = _frames("reconstructed", reconstructed), _frames("original", original)
    if rec.shape != orig.shape:
        raise ValueError(f"reconstructed frames {rec.shape} and original frames {orig.shape} differ in shape")
    preds = torch.from_numpy(rec).permute(0, 3, 1, 2)
    target = torch.from_numpy(orig).permute(0, 3, 1, 2)
    psnr = peak_signal_noise_ratio(preds, target, data_range=255.0, reduction="none", dim=(1, 2, 3))
    ssim = structural_similarity_index_measure(preds, target, data_range=255.0, reduction="none")
    return Quality(psnr=np.minimum(psnr.numpy().astype(float), MAX_PSNR), ssim=ssim.numpy().astype(float))


def mean_face(gallery: np.ndarray) -> np.ndarray:
    """The pixel-wise mean of the ``gallery`` frames, rounded to uint8 [H, W, 3]."""
    return np.rint(_frames("gallery", gallery).mean(axis=0)).astype(np.uint8)


def mean_face_quality(original: np.ndarray, gallery: np.ndarray) -> Quality:
    """The baseline: the quality of the ``gallery``'s mean face taken as the reconstruction of every
    ``original`` frame."""
    face, frames = mean_face(gallery), _frames("original", original)
    if face.shape != frames.shape[1:]:
        raise ValueError(f"gallery frames {face.shape} and original frames {frames.shape[1:]} differ in shape")
    return image_quality(np.broadcast_to(face, frames.shape), frames)


def _frames(name: str, frames: np.ndarray) -> np.ndarray:
    """``frames`` as float32 [N, H, W, 3], N >= 1, every value a finite grey level in 0..255."""
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or not all(array.shape):
        raise ValueError(f"{name} frames must be a non-empty [N, H, W, 3] array, found shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} frames must be numeric, found dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} frames hold non-finite values")
    if array.min() < 0 or array.max() > 255:
        raise ValueError(f"{name} frames hold values outside 0..255 ({array.min():g}..{array.max():g})")
    return array
