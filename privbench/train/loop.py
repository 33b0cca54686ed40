"""The one training loop: plain, federated-client and (later) DP training share ``train_epoch``."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn
from torch.utils.data import DataLoader

from privbench.errors import DivergedError
from privbench.evaluate.metrics import ccc_loss, ccc_window_loss
from privbench.progress import Progress
from privbench.registry import Registry

LOSSES: Registry[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = Registry("loss")
LOSSES.register("mse")(nn.functional.mse_loss)
LOSSES.register("ccc")(ccc_loss)
LOSSES.register("ccc_window")(ccc_window_loss)


@dataclass
class FitHistory:
    """What happened during training: per-epoch loss, validation score and wall time."""

    train_loss: list[float] = field(default_factory=list)
    validation_score: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    frames_seen: int = 0


Scheduler = torch.optim.lr_scheduler.LRScheduler


def adam(params: Iterable, lr: float = 1e-3) -> torch.optim.Adam:
    """Adam with the fused kernel (``params``: tensors or parameter groups with their own ``lr``):
    on CPU a ResNet18 step takes 9 ms instead of 70 ms with the per-tensor loop."""
    return torch.optim.Adam(params, lr=lr, fused=True)


def one_cycle(optimizer: torch.optim.Optimizer, steps: int) -> Scheduler:
    """The learning rate warms up over the first 15% of ``steps`` to the optimiser's rate, then anneals
    to near zero (cosine): from scratch, this reaches a better model in few steps than a constant rate."""
    peak = [group["lr"] for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak, total_steps=max(steps, 2), pct_start=0.15)


def train_epoch(
    model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer, loss_name: str, device: torch.device,
    scheduler: Scheduler | None = None,
) -> tuple[float, int]:
    """One pass over ``loader`` (``scheduler`` stepped per batch); returns the mean batch loss and the
    number of labelled frames seen."""
    loss_fn = LOSSES.get(loss_name)
    model.train()
    total, batches, frames = 0.0, 0, 0
    for inputs, labels in loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), labels)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += float(loss.detach())
        batches += 1
        frames += labels.shape[0] * labels.shape[1]
    return total / max(batches, 1), frames


class BestWeights:
    """Early stopping shared by every training loop: scores each epoch (or round) with ``validate``,
    remembers the best weights, says when ``patience`` epochs passed without improvement (0: never).
    Without ``validate`` every epoch counts as the best, so the last weights stay."""

    def __init__(self, validate: Callable[[nn.Module], float] | None, patience: int) -> None:
        self.validate, self.patience = validate, patience
        self.state: dict | None = None
        self.score, self.stale = -float("inf"), 0

    def update(self, model: nn.Module, epoch: int, history: FitHistory) -> str:
        """Score ``model`` after ``epoch``; returns a progress note ("" without validation)."""
        if self.validate is None:
            history.best_epoch = epoch
            return ""
        score = self.validate(model)
        history.validation_score.append(score)
        if score > self.score:
            self.state, self.score, self.stale = copy.deepcopy(model.state_dict()), score, 0
            history.best_epoch = epoch
        else:
            self.stale += 1
        return f" val CCC {score:.3f}"

    @property
    def should_stop(self) -> bool:
        return bool(self.patience) and self.stale >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best weights into ``model`` (nothing to do without validation)."""
        if self.state is not None:
            model.load_state_dict(self.state)


def fit(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_name: str,
    epochs: int,
    validate: Callable[[nn.Module], float] | None,
    patience: int,
    device: torch.device,
    progress: Progress,
    scheduler: Scheduler | None = None,
) -> FitHistory:
    """Train for up to ``epochs``; keep the weights with the best validation score.

    Stops early after ``patience`` epochs without improvement (patience 0: never). Without
    ``validate``, trains every epoch and keeps the last weights.
    """
    history = FitHistory()
    best = BestWeights(validate, patience)
    task = progress.add("epochs", total=epochs)
    for epoch in range(epochs):
        start = time.perf_counter()
        loss, frames = train_epoch(model, loader, optimizer, loss_name, device, scheduler)
        history.epoch_seconds.append(time.perf_counter() - start)
        if not math.isfinite(loss):
            raise DivergedError(f"training diverged: mean loss {loss} in epoch {epoch + 1}")
        history.train_loss.append(loss)
        history.frames_seen += frames
        note = best.update(model, epoch, history)
        progress.advance(task, description=f"epoch {epoch + 1} loss {loss:.4f}{note}")
        if best.should_stop:
            break
    progress.remove(task)
    best.restore(model)
    return history
