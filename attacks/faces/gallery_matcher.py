"""The ``gallery`` face matcher, trained by the attacker on the gallery itself and so always available:
each frame resized to 32 px and standardised (zero mean, unit variance per frame, which discounts
brightness and contrast), projected on the gallery's principal components (whitened eigenfaces),
then a multinomial logistic regression; scores are log-probabilities.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from privbench.attacks.faces.matchers import (
    FaceMatcher,
    MatcherKind,
    MatcherOptions,
    check_gallery,
    check_images,
    resize,
)

SIZE = 32
COMPONENTS = 64  # at most; fewer when the gallery has fewer frames


def standardised_pixels(images: np.ndarray) -> np.ndarray:
    """[N, 3 * SIZE * SIZE]: each frame at SIZE px, shifted and scaled to zero mean and unit variance."""
    pixels = resize(images, SIZE).flatten(1).numpy().astype(float)
    pixels -= pixels.mean(axis=1, keepdims=True)
    return pixels / np.maximum(pixels.std(axis=1, keepdims=True), 1e-6)


class GalleryMatcher:
    """Eigenfaces and logistic regression fitted on the gallery (see the module docstring)."""

    def __init__(self) -> None:
        self.identities_ = np.empty(0, dtype=str)
        self._model: Pipeline | None = None

    def fit(self, gallery: np.ndarray, identities: np.ndarray) -> GalleryMatcher:
        frames, names = check_gallery(gallery, identities)
        components = min(COMPONENTS, len(frames) - 1)
        self._model = make_pipeline(PCA(components, whiten=True, random_state=0),
                                    LogisticRegression(C=1.0, max_iter=1000))
        self._model.fit(standardised_pixels(frames), names)
        self.identities_ = np.asarray(self._model.classes_)
        return self

    def scores(self, images: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise RuntimeError("fit the gallery matcher before scoring")
        logits = self._model.decision_function(standardised_pixels(check_images("images", images)))
        if logits.ndim == 1:  # two identities: scikit-learn gives the second one's logit only
            logits = np.column_stack([np.zeros_like(logits), logits])
        return log_softmax(logits, axis=1)  # finite, unlike predict_log_proba for a confident model


def build(options: MatcherOptions) -> FaceMatcher:
    return GalleryMatcher()


GALLERY = MatcherKind(unavailable=lambda options: None, build=build)
