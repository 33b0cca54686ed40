"""Frame-level warm-up of a randomly initialised backbone, before end-to-end sequence training.

Without ImageNet weights, a ResNet18 trained end to end on windows learns nothing within a CPU
budget: the frames of a window are near duplicates, so a batch of 8 windows holds 8 moments, not
128, and the gradient is too noisy. Training the backbone first on batches of single frames drawn
from all training participants (a temporary linear head predicting the frame's gold labels) gives
it expression features; the sequence model is then trained end to end from there. The per-frame
readout is the model's ``frame_head``, so federated clients can warm up too and the server average it.
The stage is built by ``privbench.train.setup.frame_warmup_training`` and run by the one loop.
"""

from __future__ import annotations

import math

import torch

from privbench.data.frames import FrameSequence
from privbench.errors import DivergedError
from privbench.models.frame_model import FrameSequenceModel
from privbench.progress import Progress
from privbench.train.loop import run_steps
from privbench.train.setup import SetupWrapper, frame_warmup_training, unwrapped


def pretrain_frames(
    model: FrameSequenceModel, sequences: list[FrameSequence], *, steps: int, batch_size: int, lr: float,
    loss_name: str, seed: int, device: torch.device, progress: Progress, num_workers: int = 0,
    wrap: SetupWrapper = unwrapped,
) -> list[float]:
    """Train ``model.backbone`` and ``model.frame_head`` (in place) for ``steps`` batches of single
    frames, Adam under a one-cycle schedule; returns the loss per step. A non-finite loss stops it."""
    setup = frame_warmup_training(model, sequences, steps=steps, batch_size=batch_size, lr=lr, loss=loss_name,
                                  seed=seed, num_workers=num_workers, wrap=wrap)
    task = progress.add("frame warm-up", total=steps)

    def step_done(step: int, loss: float) -> None:
        if not math.isfinite(loss):
            raise DivergedError(f"frame warm-up diverged: loss {loss} at step {step}")
        progress.advance(task, description=f"frame warm-up loss {loss:.4f}")

    losses, _ = run_steps(setup, device=device, steps=steps, on_step=step_done)
    progress.remove(task)
    return losses
