"""Frame-level warm-up of a randomly initialised backbone, before end-to-end sequence training.

Without ImageNet weights, a ResNet18 trained end to end on windows learns nothing within a CPU
budget: the frames of a window are near duplicates, so a batch of 8 windows holds 8 moments, not
128, and the gradient is too noisy. Training the backbone first on batches of single frames drawn
from all training participants (a temporary linear head predicting the frame's gold labels) gives
it expression features; the sequence model is then trained end to end from there. The per-frame
readout is the model's ``frame_head``, so federated clients can warm up too and the server average it.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data import Dataset as TorchDataset

from privbench.data.frames import FrameSequence, compute_statistics
from privbench.errors import DivergedError
from privbench.models.frame_model import FrameSequenceModel
from privbench.progress import Progress
from privbench.train.loop import LOSSES, adam, one_cycle


class FrameDataset(TorchDataset):
    """Single used frames of several participants: (inputs [3, S, S], gold labels [2])."""

    def __init__(self, sequences: list[FrameSequence]) -> None:
        self.sequences = sequences
        self.index = [(i, j) for i, seq in enumerate(sequences) for j in range(len(seq.rows))]
        compute_statistics(sequences)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        i, j = self.index[item]
        seq = self.sequences[i]
        return seq.inputs(seq.rows[j : j + 1])[0], torch.tensor(seq.labels[j])


def pretrain_frames(
    model: FrameSequenceModel, sequences: list[FrameSequence], steps: int, batch_size: int, lr: float,
    loss_name: str, seed: int, device: torch.device, progress: Progress, num_workers: int = 0,
) -> list[float]:
    """Train ``model.backbone`` and ``model.frame_head`` (in place) for ``steps`` batches of single
    frames, Adam under a one-cycle schedule; returns the loss per step."""
    frames = FrameDataset(sequences)
    sampler = RandomSampler(frames, num_samples=steps * batch_size, generator=torch.Generator().manual_seed(seed))
    loader = DataLoader(frames, batch_size=batch_size, sampler=sampler, num_workers=num_workers)
    backbone, head = model.backbone, model.frame_head
    optimizer = adam([*backbone.parameters(), *head.parameters()], lr)
    scheduler = one_cycle(optimizer, steps)
    loss_fn = LOSSES.get(loss_name)
    backbone.train()
    losses = []
    task = progress.add("frame warm-up", total=steps)
    for inputs, labels in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(head(backbone(inputs.to(device)))[:, None], labels.to(device)[:, None])
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(float(loss.detach()))
        if not math.isfinite(losses[-1]):
            raise DivergedError(f"frame warm-up diverged: loss {losses[-1]} at step {len(losses)}")
        progress.advance(task, description=f"frame warm-up loss {losses[-1]:.4f}")
    progress.remove(task)
    return losses
