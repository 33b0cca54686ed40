"""Face matchers: who, among the people of a gallery, is in each image (the re-identification of
reconstructed faces). Pluggable through ``MATCHERS``, strongest first:

- ``dlib``: dlib's pretrained ResNet face recogniser (``pip install 'privbench[faces]'``);
- ``facenet``: facenet-pytorch's InceptionResnetV1 with VGGFace2 weights the user provides;
- ``gallery``: eigenfaces and logistic regression trained on the gallery itself (always available).

Nothing is ever downloaded: a matcher whose package or weights are absent says so
(``matcher_unavailable``), and asking for it by name is an ``InputError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

import numpy as np

from privbench.attacks.shared.metrics import top_k_accuracy
from privbench.errors import InputError
from privbench.registry import Registry

if TYPE_CHECKING:
    import torch


class FaceMatcher(Protocol):
    """Built for one gallery: ``fit`` learns it, ``scores`` rates each image [N, H, W, 3] uint8 against
    each gallery identity, [N, K], higher = more likely, columns in the order of ``identities_`` (the
    sorted distinct gallery identities)."""

    identities_: np.ndarray

    def fit(self, gallery: np.ndarray, identities: np.ndarray) -> FaceMatcher: ...

    def scores(self, images: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class MatcherOptions:
    """Settings a matcher may read: the VGGFace2 weights file for ``facenet`` (None: look in the torch
    cache) and the torch device for the matchers that run on torch."""

    facenet_weights: Path | None = None
    device: str = "cpu"


@dataclass(frozen=True)
class MatcherKind:
    """A registry entry: ``unavailable`` gives one line saying what is missing (None: ready), ``build``
    makes an unfitted matcher."""

    unavailable: Callable[[MatcherOptions], str | None]
    build: Callable[[MatcherOptions], FaceMatcher]


MATCHERS: Registry[MatcherKind] = Registry("face matcher")
MATCHERS.declare("dlib", "privbench.attacks.faces.dlib_matcher:DLIB",
                 "dlib's pretrained ResNet face recogniser, 128-d descriptors (pip install 'privbench[faces]')")
MATCHERS.declare("facenet", "privbench.attacks.faces.facenet_matcher:FACENET",
                 "facenet-pytorch InceptionResnetV1 with VGGFace2 weights you provide (never downloaded)")
MATCHERS.declare("gallery", "privbench.attacks.faces.gallery_matcher:GALLERY",
                 "eigenfaces and logistic regression trained on the gallery itself (always available)")


def matcher_unavailable(name: str, options: MatcherOptions = MatcherOptions()) -> str | None:
    """Why face matcher ``name`` cannot run here, in one line; None when it can."""
    return MATCHERS.get(name).unavailable(options)


def default_matcher(options: MatcherOptions = MatcherOptions()) -> str:
    """The strongest matcher available: the first of dlib, facenet, gallery that can run."""
    return next(name for name in MATCHERS if matcher_unavailable(name, options) is None)


def build_matcher(name: str, options: MatcherOptions = MatcherOptions()) -> FaceMatcher:
    """An unfitted matcher ``name``; an ``InputError`` naming what is missing when it cannot run."""
    problem = matcher_unavailable(name, options)
    if problem:
        raise InputError(problem)
    return MATCHERS.get(name).build(options)


def reid_rate(scores: np.ndarray, truth: np.ndarray, identities: np.ndarray) -> tuple[float, float]:
    """Top-1 re-identification rate of ``scores`` [N, K] (columns: ``identities``) against the true
    identity of each image, and chance, 1/K. Ties count against the matcher."""
    identities, truth = np.asarray(identities), np.asarray(truth)
    missing = sorted(set(truth.tolist()) - set(identities.tolist()))
    if missing:
        raise ValueError(f"true identities {missing[:3]} are not among the matcher's identities")
    column = {identity: index for index, identity in enumerate(identities.tolist())}
    return top_k_accuracy(scores, np.array([column[t] for t in truth.tolist()]), 1), 1 / len(identities)


def check_images(name: str, images: np.ndarray) -> np.ndarray:
    """``images`` as a C-contiguous uint8 [N, H, W, 3] array, N >= 1; ValueError otherwise."""
    array = np.asarray(images)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3 or not all(array.shape):
        raise ValueError(f"{name} must be a non-empty uint8 [N, H, W, 3] array, found {array.dtype} {array.shape}")
    return np.ascontiguousarray(array)


def check_gallery(gallery: np.ndarray, identities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gallery frames and their identities (as strings), checked: one identity per frame, >= 2."""
    frames, names = check_images("gallery", gallery), np.asarray(identities).astype(str)
    if names.shape != (len(frames),):
        raise ValueError(f"{len(frames)} gallery frames need {len(frames)} identities, found shape {names.shape}")
    if len(np.unique(names)) < 2:
        raise ValueError("a gallery needs frames of at least 2 identities")
    return frames, names


class EmbeddingMatcher:
    """A matcher on a pretrained face embedding ``embed`` (checked uint8 images -> [N, D]): an image's
    score for an identity is minus the Euclidean distance from its embedding to the nearest gallery
    embedding of that identity."""

    def __init__(self, embed: Callable[[np.ndarray], np.ndarray]) -> None:
        self.embed = embed
        self.identities_ = np.empty(0, dtype=str)

    def fit(self, gallery: np.ndarray, identities: np.ndarray) -> EmbeddingMatcher:
        frames, names = check_gallery(gallery, identities)
        self.identities_, self._labels = np.unique(names, return_inverse=True)
        self._gallery = self.embed(frames)
        return self

    def scores(self, images: np.ndarray) -> np.ndarray:
        from scipy.spatial.distance import cdist

        distance = cdist(self.embed(check_images("images", images)), self._gallery)  # [N, G]
        return -np.stack([distance[:, self._labels == k].min(axis=1) for k in range(len(self.identities_))], axis=1)


def resize(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [N, H, W, 3] images as float32 [N, 3, size, size] grey levels (bilinear, antialiased)."""
    import torch
    import torch.nn.functional as F

    batch = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    if batch.shape[-2:] == (size, size):
        return batch
    return F.interpolate(batch, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
