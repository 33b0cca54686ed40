"""Gradient inversion attacks on one client's update: ``INVERSIONS`` maps a name to an attack
``(observed, *, iterations, restarts, seed, progress_callback=None, **options) -> Reconstruction``.

``iterations`` counts every evaluation of the attack objective, across restarts; ``options`` override
fields of the attack's ``Recipe`` (``privbench.attacks.gradinv.recipe``), e.g. ``tv=0.1``. Unknown
targets are recovered jointly (``tanh`` of free variables, so in [-1, 1]), as is every example of a
batch. A weight delta after several local steps is matched by replaying those steps on the candidates.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from privbench.attacks.gradinv.recipe import Recipe, run_recipe
from privbench.attacks.gradinv.search import ProgressCallback
from privbench.attacks.gradinv.threat import ObservedUpdate, Reconstruction
from privbench.errors import ConfigError
from privbench.registry import Registry


class Inversion(Protocol):
    def __call__(self, observed: ObservedUpdate, *, iterations: int, restarts: int, seed: int,
                 progress_callback: ProgressCallback | None = None, **options: Any) -> Reconstruction: ...


INVERSIONS: Registry[Inversion] = Registry("inversion attack")

DLG = Recipe(distance="l2", tv=0.0, optimizer="lbfgs", lr=1.0, signed=False, init="uniform")
INVERTING_GRADIENTS = Recipe(distance="cosine", tv=0.2, lr=0.1, signed=True, schedule="steps", init="randn")
PRIVBENCH = Recipe(distance="cosine", tv=0.2, lr=0.1, signed=True, schedule="steps", init="grey", grey=True,
                   features=1.0, analytic_targets=True)


def recipe_with(base: Recipe, options: dict[str, Any]) -> Recipe:
    """``base`` with ``options`` replacing its fields; an unknown option is a ``ConfigError``."""
    fields = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigError(f"unknown inversion option(s) {', '.join(unknown)}; valid: {', '.join(sorted(fields))}")
    return dataclasses.replace(base, **options)


def _run(base: Recipe, observed: ObservedUpdate, iterations: int, restarts: int, seed: int,
         progress_callback: ProgressCallback | None, options: dict[str, Any]) -> Reconstruction:
    if iterations < 1 or not 1 <= restarts <= iterations:
        raise ConfigError(f"gradient inversion needs iterations >= restarts >= 1 (got {iterations}, {restarts})")
    return run_recipe(observed, recipe_with(base, options), iterations=iterations, restarts=restarts, seed=seed,
                      progress_callback=progress_callback)


@INVERSIONS.register("dlg", "Deep Leakage from Gradients: L2 gradient distance, L-BFGS (Zhu et al. 2019)")
def deep_leakage(observed: ObservedUpdate, *, iterations: int, restarts: int = 1, seed: int = 0,
                 progress_callback: ProgressCallback | None = None, **options: Any) -> Reconstruction:
    return _run(DLG, observed, iterations, restarts, seed, progress_callback, options)


@INVERSIONS.register("ig", "Inverting Gradients: cosine distance, TV prior, signed Adam, restarts "
                           "(Geiping et al. 2020)")
def inverting_gradients(observed: ObservedUpdate, *, iterations: int, restarts: int = 1, seed: int = 0,
                        progress_callback: ProgressCallback | None = None, **options: Any) -> Reconstruction:
    return _run(INVERTING_GRADIENTS, observed, iterations, restarts, seed, progress_callback, options)


@INVERSIONS.register("privbench", "privbench's recipe: Inverting Gradients plus closed-form output-layer features "
                                  "and targets, grey canvas, measured choices (docs)")
def privbench_inversion(observed: ObservedUpdate, *, iterations: int, restarts: int = 1, seed: int = 0,
                        progress_callback: ProgressCallback | None = None, **options: Any) -> Reconstruction:
    return _run(PRIVBENCH, observed, iterations, restarts, seed, progress_callback, options)
