"""Scoring reconstructions (the scorer's side: it alone sees ``VictimTruth``).

Within a client's batch the attack's examples come in no particular order: each is paired with the
true frame that maximises the batch's total PSNR (Hungarian assignment), as breaching does. Then:
PSNR and SSIM per frame against the mean-face baseline; top-1 re-identification of each
reconstruction by a face matcher fitted on the gallery, against chance and against the same matcher
on the true frames (its ceiling). The matcher compares faces at the detail a reconstruction carries:
reconstructions, true frames and gallery alike are smoothed (``Reidentification.smoothing``), so
that the blocky high-frequency residue of the inversion is not read as identity (docs/threat_models.md
has the measurement that set the default); the error of recovered targets (when the attack had to recover
them); 95% bootstrap intervals over victims.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter
from scipy.optimize import linear_sum_assignment

from privbench.attacks.faces.matchers import (
    FaceMatcher,
    MatcherOptions,
    build_matcher,
    default_matcher,
    matcher_unavailable,
)
from privbench.attacks.faces.quality import image_quality, mean_face_quality
from privbench.attacks.gradinv.threat import VictimTruth
from privbench.attacks.shared.metrics import bootstrap_intervals
from privbench.errors import InputError


@dataclass(frozen=True, kw_only=True)
class Reidentification:
    """How reconstructions are re-identified: the face matcher (``auto``: the strongest installed), its
    VGGFace2 weights (facenet), and the Gaussian smoothing applied to every image the matcher sees (sd in
    pixels per 64 px of frame side; 0: none)."""

    matcher: str
    facenet_weights: str
    smoothing: float


@dataclass(frozen=True)
class Scored:
    """metrics.json's scores, one row per example, and the matched arrays."""

    summary: dict[str, dict]
    per_example: pd.DataFrame
    reconstruction: np.ndarray
    original: np.ndarray
    participant_id: np.ndarray
    frame_index: np.ndarray
    matcher: str


def matched(truth: VictimTruth, reconstructed: list[np.ndarray],
            targets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Reconstructions and recovered targets reordered to pair with ``truth``'s rows, client by client."""
    frames, values, start = [], [], 0
    for images, recovered in zip(reconstructed, targets):
        originals = truth.frames[start:start + len(images)]
        gain = np.stack([image_quality(np.repeat(r[None], len(originals), 0), originals).psnr for r in images])
        rows, columns = linear_sum_assignment(-gain)
        order = rows[np.argsort(columns)]
        frames.append(images[order])
        values.append(recovered[order])
        start += len(images)
    return np.concatenate(frames), np.concatenate(values)


def smoothed(images: np.ndarray, smoothing: float) -> np.ndarray:
    """uint8 [N, S, S, C] images blurred with sd ``smoothing`` px per 64 px of side (0: unchanged)."""
    if not smoothing:
        return images
    sd = smoothing * images.shape[1] / 64
    return np.clip(gaussian_filter(images.astype(np.float32), sigma=(0, sd, sd, 0)), 0, 255).round().astype(np.uint8)


def chosen_matcher(name: str, facenet_weights: str) -> tuple[str, FaceMatcher]:
    """The face matcher asked for (``auto``: the strongest installed) and its name."""
    options = _options(facenet_weights)
    name = default_matcher(options) if name == "auto" else name
    return name, build_matcher(name, options)


def require_matcher(name: str, facenet_weights: str) -> None:
    """An ``InputError`` now, before any attack, when the matcher asked for cannot run here."""
    problem = None if name == "auto" else matcher_unavailable(name, _options(facenet_weights))
    if problem:
        raise InputError(problem)


def _options(facenet_weights: str) -> MatcherOptions:
    return MatcherOptions(facenet_weights=None if facenet_weights == "auto" else Path(facenet_weights))


def hits(matcher: FaceMatcher, images: np.ndarray, owners: np.ndarray) -> np.ndarray:
    """Whether each image's best-scoring gallery identity is its owner (ties count as misses)."""
    scores = matcher.scores(images)
    column = np.array([list(matcher.identities_).index(o) for o in owners])
    own = scores[np.arange(len(owners)), column]
    return (scores >= own[:, None]).sum(1) == 1


def score(truth: VictimTruth, reconstructed: list[np.ndarray], targets: list[np.ndarray], *,
          gallery_images: np.ndarray, gallery_owners: np.ndarray, reid: Reidentification,
          score_targets: bool, seed: int) -> Scored:
    """Every score of the reconstructions (see the module docstring)."""
    reconstruction, recovered = matched(truth, reconstructed, targets)
    quality, baseline = image_quality(reconstruction, truth.frames), mean_face_quality(truth.frames, gallery_images)
    name, face_matcher = chosen_matcher(reid.matcher, reid.facenet_weights)
    face_matcher.fit(smoothed(gallery_images, reid.smoothing), gallery_owners)
    found = hits(face_matcher, smoothed(reconstruction, reid.smoothing), truth.participant_id)
    ceiling = hits(face_matcher, smoothed(truth.frames, reid.smoothing), truth.participant_id)
    error = np.abs(recovered.reshape(len(found), -1) - truth.targets.reshape(len(found), -1)).mean(1)
    columns = {"psnr": quality.psnr, "ssim": quality.ssim, "reid_rate": found.astype(float),
               **({"target_error": error} if score_targets else {})}
    per_example = pd.DataFrame({"participant_id": truth.participant_id, "frame_index": truth.frame_index,
                                **columns, "mean_face_psnr": baseline.psnr, "mean_face_ssim": baseline.ssim,
                                "true_frame_reidentified": ceiling.astype(float)})
    intervals = bootstrap_intervals(lambda rows: {k: float(v[rows].mean()) for k, v in columns.items()},
                                    truth.participant_id, resamples=1000, seed=seed)
    summary = {"metrics": {k: float(v.mean()) for k, v in columns.items()},
               "baseline": {**baseline.means(), "reid_rate": 1 / len(face_matcher.identities_),
                            "reid_rate_true_frames": float(ceiling.mean())},
               "ci95": {k: list(v) for k, v in intervals.items()}}
    return Scored(summary, per_example, reconstruction, truth.frames, truth.participant_id, truth.frame_index, name)
