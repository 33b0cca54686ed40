"""One inversion recipe, run: the objective a recipe describes, built for an observed update, and the
restarts that minimise it within the evaluation budget."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Literal

import torch

from privbench.attacks.gradinv.analytic import Leak, leak, output_layer
from privbench.attacks.gradinv.objectives import (
    cosine_distance,
    layerwise_cosine_distance,
    squared_distance,
    total_variation,
)
from privbench.attacks.gradinv.replay import MatchedUpdate, matched_update
from privbench.attacks.gradinv.search import (
    Budget,
    Canvas,
    Init,
    NonFiniteObjective,
    Objective,
    ProgressCallback,
    Targets,
    adam_descent,
    initial_canvas,
    lbfgs_descent,
)
from privbench.attacks.gradinv.threat import ObservedUpdate, Reconstruction
from privbench.errors import DivergedError

DISTANCES = {"cosine": cosine_distance, "layerwise": layerwise_cosine_distance, "l2": squared_distance}


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """An attack's settings. ``distance`` between the candidate's update and the observed one (``cosine``:
    all layers as one vector; ``layerwise``: the mean of per-layer cosines; ``l2``), plus ``tv`` times the
    total variation of the model inputs, plus ``features`` times the relative squared error of the
    candidate's output-layer features against those recovered in closed form (batch of one, gradient).
    ``optimizer``: signed (or plain) Adam with ``schedule``, or L-BFGS on an unbounded canvas; ``lr`` in
    model-input units (pixels move ``lr`` x the normalisation's mean std), ``target_lr`` for unknown
    targets. ``grey``: one grey channel when the server knows the frames are grey. ``coarse``: divisors of
    the frame side for the early stages of each restart (coarse to fine), which take ``coarse_share`` of
    its budget between them. ``analytic_targets``: unknown targets from the output layer's gradient when
    it gives them (batch of one)."""

    distance: Literal["cosine", "layerwise", "l2"] = "cosine"
    balance: float = 0.0
    tv: float = 0.2
    features: float = 0.0
    optimizer: Literal["adam", "lbfgs"] = "adam"
    lr: float = 0.1
    target_lr: float = 0.1
    signed: bool = True
    schedule: Literal["steps", "cosine"] = "steps"
    init: Init = "randn"
    grey: bool = False
    coarse: tuple[int, ...] = ()
    coarse_share: float = 0.25
    analytic_targets: bool = False


def run_recipe(observed: ObservedUpdate, recipe: Recipe, *, iterations: int, restarts: int, seed: int,
               progress_callback: ProgressCallback | None = None) -> Reconstruction:
    """Minimise the recipe's objective from ``restarts`` starts, ``iterations`` evaluations in all, and
    return the best point evaluated."""
    matched = matched_update(observed)
    notes: list[str] = []
    leaked = _leak(observed, matched, notes) if recipe.features or recipe.analytic_targets else None
    known = observed.targets
    if known is None and recipe.analytic_targets and leaked is not None:
        known = leaked.targets.reshape(_target_shape(observed)).clamp(-1, 1)
        notes.append("targets recovered in closed form from the output layer's gradient")
    budget = Budget(iterations, progress_callback)
    generator = torch.Generator().manual_seed(seed)
    with _objective(observed, matched, recipe, leaked if recipe.features else None) as objective:
        for restart in range(restarts):
            steps = iterations // restarts + (restart < iterations % restarts)
            try:
                _restart(observed, recipe, objective, Targets(known, _target_shape(observed)), budget,
                         steps=steps, generator=generator)
            except NonFiniteObjective:
                notes.append(f"restart {restart + 1} stopped early: the objective became non-finite")
    if budget.best is None:
        raise DivergedError("gradient inversion: the attack objective was non-finite from its first evaluation")
    pixels, targets = budget.best
    return Reconstruction(pixels.clamp(0, 1), targets, budget.used, budget.trace, tuple(notes))


def _target_shape(observed: ObservedUpdate) -> tuple[int, ...]:
    return (observed.examples, *observed.input_shape[:-3], 2)


def _leak(observed: ObservedUpdate, matched: MatchedUpdate, notes: list[str]) -> Leak | None:
    """The output layer's closed-form leak, for a gradient of one example."""
    if observed.examples != 1 or not matched.is_gradient:
        return None
    probe = observed.pixels.to_model(torch.full((1, *observed.input_shape), 0.5))
    layer = output_layer(observed.model, probe)
    leaked = None if layer is None else leak(layer, matched.observed)
    if leaked is not None:
        notes.append(f"output-layer features ({leaked.features.shape[-1]}) recovered in closed form")
    return leaked


@contextlib.contextmanager
def _objective(observed: ObservedUpdate, matched: MatchedUpdate, recipe: Recipe,
               leaked: Leak | None) -> Iterator[Objective]:
    """The recipe's objective over (pixels [N, *input_shape], targets), hooked to read the output layer's
    features while in use."""
    distance = (cosine_distance(matched.observed, balance=recipe.balance) if recipe.distance == "cosine"
                else DISTANCES[recipe.distance](matched.observed))
    seen: dict[str, torch.Tensor] = {}
    hook = None
    if leaked is not None:
        hook = leaked.layer.module.register_forward_hook(lambda m, i, o: seen.__setitem__("features", i[0]))
        scale = float(leaked.features.pow(2).sum()) or 1.0

    def objective(pixels: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        inputs = observed.pixels.to_model(pixels)
        value = distance(matched.simulate(inputs, targets))
        if recipe.tv:
            value = value + recipe.tv * total_variation(inputs)
        if leaked is not None:
            value = value + recipe.features * (seen["features"].reshape(leaked.features.shape)
                                               - leaked.features).pow(2).sum() / scale
        return value

    try:
        yield objective
    finally:
        if hook is not None:
            hook.remove()


def _restart(observed: ObservedUpdate, recipe: Recipe, objective: Objective, targets: Targets, budget: Budget,
             *, steps: int, generator: torch.Generator) -> None:
    """One start: the canvas from the recipe's initialisation, then its stages (coarse to fine)."""
    side = observed.input_shape[-1]
    grey = recipe.grey and observed.pixels.grey
    sides = [max(side // divisor, 1) for divisor in recipe.coarse] + [side]
    coarse_steps = [int(steps * recipe.coarse_share / max(len(recipe.coarse), 1))] * len(recipe.coarse)
    stage_steps = [*coarse_steps, steps - sum(coarse_steps)]
    canvas = initial_canvas((observed.examples, *observed.input_shape), observed.pixels, init=recipe.init,
                            grey=grey, side=sides[0], generator=generator)
    for stage_side, count in zip(sides, stage_steps):
        if canvas.latent.shape[-1] != stage_side:
            canvas = canvas.resized(stage_side)
        _descend(objective, canvas, targets, budget, recipe, steps=count, std=observed.pixels.std)


def _descend(objective: Objective, canvas: Canvas, targets: Targets, budget: Budget, recipe: Recipe, *,
             steps: int, std: tuple[float, float, float]) -> None:
    if recipe.optimizer == "lbfgs":
        lbfgs_descent(objective, canvas, targets, budget, steps=steps, lr=recipe.lr)
        return
    adam_descent(objective, canvas, targets, budget, steps=steps, lr=recipe.lr * sum(std) / 3,
                 target_lr=recipe.target_lr, signed=recipe.signed, schedule=recipe.schedule)
