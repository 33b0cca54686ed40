"""Attack models: classifiers from released windows [N, T, F] to labels (identities, attribute values).

``logreg`` and ``gbm`` read the window statistics of ``features.py`` (scikit-learn); ``rnn`` reads the
windows themselves (a small GRU, torch). All share one interface, so an attack can try each and
report each and the best (``--set attack.model=...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable, Protocol

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from privbench.attacks.shared.features import window_features
from privbench.registry import Registry


class AttackModel(Protocol):
    """``represent`` turns windows [N, T, F] into what the model reads (computed once per person and
    reused across folds and permutations); ``fit`` learns labels from such inputs, each weighted (the
    Bayesian bootstrap weighs people); ``predict_proba`` gives one column per class of ``classes``."""

    classes: np.ndarray

    def represent(self, windows: np.ndarray) -> np.ndarray: ...

    def fit(self, inputs: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> AttackModel: ...

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Released:
    """How to read the windows: the released columns and frame rate (for the statistics)."""

    columns: tuple[str, ...]
    fps: float


MODELS: Registry[Callable[[Released, int], AttackModel]] = Registry("attack model")


@dataclass
class StatisticsModel:
    """A scikit-learn classifier on window statistics."""

    released: Released
    estimator: Any
    classes: np.ndarray = field(default_factory=lambda: np.empty(0))

    def represent(self, windows: np.ndarray) -> np.ndarray:
        return window_features(windows, self.released.columns, self.released.fps)

    def fit(self, inputs: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> StatisticsModel:
        last = f"{self.estimator.steps[-1][0]}__" if isinstance(self.estimator, Pipeline) else ""
        with _single_threaded():
            self.estimator.fit(inputs, labels, **{f"{last}sample_weight": weights})
        self.classes = np.asarray(self.estimator.classes_)
        return self

    def predict_proba(self, inputs: np.ndarray) -> np.ndarray:
        with _single_threaded():
            return self.estimator.predict_proba(inputs)


@cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded libraries is slow: once per process


def _single_threaded() -> Any:
    """BLAS and OpenMP on one thread: on 2 shared cores, multithreaded BLAS made 3-class logistic fits 8x
    slower, and OpenMP's spinning threads stalled gradient boosting for minutes when another process ran."""
    return _controller().limit(limits=1)


@MODELS.register("logreg", "logistic regression on window statistics (scikit-learn)")
def logreg(released: Released, seed: int) -> AttackModel:
    return StatisticsModel(released, make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000, tol=1e-3)))


@MODELS.register("gbm", "gradient-boosted trees on window statistics (scikit-learn)")
def gbm(released: Released, seed: int) -> AttackModel:
    return StatisticsModel(released, HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1,
                                                                    random_state=seed))


@MODELS.register("rnn", "a small GRU classifier on the windows themselves (torch)")
def rnn(released: Released, seed: int) -> AttackModel:
    from privbench.attacks.shared.sequence_model import SequenceClassifier  # torch: only when chosen

    return SequenceClassifier(seed=seed)
