"""The optimisation behind every inversion recipe: the unknowns (a canvas of pixels, the targets), an
evaluation budget shared by all restarts, and the optimisers (signed Adam with a step decay, L-BFGS).

Every evaluation of the attack objective is charged to the budget (L-BFGS's line-search calls too) and
recorded: the answer is the evaluated point with the lowest objective over all restarts, which is the
best restart's best point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import torch
from torch.nn import functional

from privbench.attacks.gradinv.threat import PixelSpace

ProgressCallback = Callable[[int], None]
Objective = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Init = Literal["randn", "uniform", "grey"]


class BudgetSpent(Exception):
    """Raised before an evaluation the budget has no room for."""


class NonFiniteObjective(Exception):
    """Raised when the objective evaluates to NaN or infinity; the restart stops there."""


class Budget:
    """Counts objective evaluations against ``total``; keeps the trace and the best point evaluated."""

    def __init__(self, total: int, progress_callback: ProgressCallback | None = None) -> None:
        self.total = total
        self.used = 0
        self.trace: list[float] = []
        self.best_value = math.inf
        self.best: tuple[torch.Tensor, torch.Tensor] | None = None
        self._callback = progress_callback

    def reserve(self) -> None:
        """Take one evaluation from the budget, or raise ``BudgetSpent``."""
        if self.used >= self.total:
            raise BudgetSpent
        self.used += 1
        if self._callback is not None:
            self._callback(1)

    def record(self, value: torch.Tensor, pixels: torch.Tensor, targets: torch.Tensor) -> None:
        """Note an evaluation's value at its point; raise ``NonFiniteObjective`` when it is not finite."""
        number = float(value.detach())
        if not math.isfinite(number):
            raise NonFiniteObjective
        self.trace.append(number)
        if number < self.best_value:
            self.best_value = number
            self.best = (pixels.detach().clone(), targets.detach().clone())


class Canvas:
    """The unknown pixels in [0, 1]: one grey channel (replicated to RGB) or three, stored at ``side`` px
    and upsampled bilinearly to the frame size (coarse-to-fine search); [N, *input_shape] out."""

    def __init__(self, start: torch.Tensor, shape: tuple[int, ...], *, grey: bool) -> None:
        self.latent = start.detach().clone().requires_grad_(True)
        self.shape = shape
        self.grey = grey

    def pixels(self) -> torch.Tensor:
        image = self.latent
        if image.shape[-1] != self.shape[-1]:
            image = functional.interpolate(image, size=self.shape[-2:], mode="bilinear", align_corners=False)
        if self.grey:
            image = image.expand(-1, 3, -1, -1)
        return image.reshape(self.shape)

    def resized(self, side: int) -> Canvas:
        """The same image stored at ``side`` px."""
        with torch.no_grad():
            latent = functional.interpolate(self.latent, size=(side, side), mode="bilinear", align_corners=False)
        return Canvas(latent.clamp(0, 1), self.shape, grey=self.grey)

    def project(self) -> None:
        with torch.no_grad():
            self.latent.clamp_(0, 1)


def initial_canvas(shape: tuple[int, ...], pixels: PixelSpace, *, init: Init, grey: bool, side: int,
                   generator: torch.Generator) -> Canvas:
    """A canvas for examples [N, *input_shape]: ``randn`` draws model inputs from a standard normal (the
    reference's start) clipped to [0, 1] pixels; ``uniform`` draws pixels in [0, 1]; ``grey`` is mid-grey
    with a little noise (to tell the examples of a batch apart)."""
    frames = math.prod(shape[:-3])
    channels = 1 if grey else 3
    noise = torch.randn((frames, channels, side, side), generator=generator)
    mean = torch.tensor(pixels.mean)[:, None, None]
    std = torch.tensor(pixels.std)[:, None, None]
    if grey:
        mean, std = mean.mean(0, keepdim=True), std.mean(0, keepdim=True)
    if init == "randn":
        start = mean + std * noise
    elif init == "uniform":
        start = torch.rand((frames, channels, side, side), generator=generator)
    else:
        start = 0.5 + 0.01 * noise
    return Canvas(start.clamp(0, 1), shape, grey=grey)


class Targets:
    """The examples' targets: the known ones, or unknowns in [-1, 1] (``tanh`` of a free tensor)."""

    def __init__(self, known: torch.Tensor | None, shape: tuple[int, ...]) -> None:
        self.known = known
        self.raw = None if known is not None else torch.zeros(shape, requires_grad=True)

    def values(self) -> torch.Tensor:
        return self.known if self.raw is None else torch.tanh(self.raw)

    def variables(self) -> list[torch.Tensor]:
        return [] if self.raw is None else [self.raw]


def evaluate(objective: Objective, canvas: Canvas, targets: Targets, budget: Budget) -> torch.Tensor:
    """One charged evaluation of the objective at the current point, its gradient left in the variables."""
    budget.reserve()
    variables = [canvas.latent, *targets.variables()]
    for variable in variables:
        variable.grad = None
    pixels, values = canvas.pixels(), targets.values()
    value = objective(pixels, values)
    budget.record(value, pixels, values)
    value.backward(inputs=variables)
    return value


def adam_descent(objective: Objective, canvas: Canvas, targets: Targets, budget: Budget, *, steps: int,
                 lr: float, target_lr: float, signed: bool, schedule: Literal["steps", "cosine"]) -> None:
    """``steps`` Adam steps on the canvas (projected to [0, 1] after each) and the unknown targets, the
    gradients signed when ``signed``; the step size decays tenfold at 3/8, 5/8 and 7/8 of the steps
    (``steps``, as the reference) or along a cosine to zero (``cosine``)."""
    groups = [{"params": [canvas.latent], "lr": lr}]
    if targets.raw is not None:
        groups.append({"params": [targets.raw], "lr": target_lr})
    optimizer = torch.optim.Adam(groups)
    scheduler = (torch.optim.lr_scheduler.MultiStepLR(optimizer, [steps * 3 // 8, steps * 5 // 8, steps * 7 // 8],
                                                      gamma=0.1)
                 if schedule == "steps" else torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps, 1)))
    for _ in range(steps):
        evaluate(objective, canvas, targets, budget)
        if signed:
            for variable in [canvas.latent, *targets.variables()]:
                variable.grad.sign_()
        optimizer.step()
        scheduler.step()
        canvas.project()


def lbfgs_descent(objective: Objective, canvas: Canvas, targets: Targets, budget: Budget, *, steps: int,
                  lr: float) -> None:
    """L-BFGS on the unbounded canvas and the targets (as DLG), until ``steps`` evaluations are spent."""
    optimizer = torch.optim.LBFGS([canvas.latent, *targets.variables()], lr=lr, history_size=100,
                                  tolerance_grad=0.0, tolerance_change=0.0)
    stop = budget.used + steps

    def closure() -> torch.Tensor:
        if budget.used >= stop:
            raise BudgetSpent
        return evaluate(objective, canvas, targets, budget)

    try:
        while budget.used < stop:
            optimizer.param_groups[0].update(max_iter=stop - budget.used, max_eval=stop - budget.used)
            optimizer.step(closure)
    except BudgetSpent:
        pass
