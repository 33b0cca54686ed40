"""User-level DP-SGD on Opacus's parts: Poisson sampling of participants, each contributing a fixed number of
windows, and a ``DPOptimizer`` that sums each participant's per-window gradients before clipping them as one.

Opacus has no user-level mode of its own; this keeps its per-sample gradients (``GradSampleModule``), its
clipping, noise and scaling (``DPOptimizer``) and its accountants, and changes only what a "sample" is: the
rows of a batch come in blocks of ``windows`` rows per sampled participant, so folding the per-window
gradients ``[P * windows, ...]`` into ``[P, ...]`` gives one gradient per participant.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch
from opacus.optimizers import DPOptimizer
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import Sampler
from torch.utils.data import default_collate


class ParticipantBatches(Sampler[list[int]]):
    """``steps`` batches of window indices: each participant joins a batch with probability ``rate``
    (Poisson sampling, independently per step) and brings ``windows`` of its windows, drawn at random
    (with replacement only when it has fewer). ``owners[i]`` is the participant of window ``i``."""

    def __init__(self, owners: Sequence[int], *, rate: float, windows: int, steps: int,
                 generator: torch.Generator) -> None:
        self.rate, self.windows, self.steps, self.generator = rate, windows, steps, generator
        owners_tensor = torch.as_tensor(list(owners))
        self.members = [torch.nonzero(owners_tensor == p).flatten() for p in torch.unique(owners_tensor)]

    @property
    def participants(self) -> int:
        return len(self.members)

    def __len__(self) -> int:
        return self.steps

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.steps):
            chosen = torch.nonzero(torch.rand(self.participants, generator=self.generator) < self.rate).flatten()
            yield [int(i) for p in chosen.tolist() for i in self._draw(self.members[p])]

    def _draw(self, windows: torch.Tensor) -> torch.Tensor:
        if len(windows) >= self.windows:
            return windows[torch.randperm(len(windows), generator=self.generator)[: self.windows]]
        return windows[torch.randint(len(windows), (self.windows,), generator=self.generator)]


class EmptySafeCollate:
    """The default collate, and for an empty Poisson batch tensors with no rows of the dataset's shapes."""

    def __init__(self, dataset: TorchDataset) -> None:
        self.empty = tuple(torch.zeros((0, *t.shape), dtype=t.dtype) for t in dataset[0])

    def __call__(self, batch: list) -> tuple[torch.Tensor, ...]:
        return default_collate(batch) if batch else self.empty


class ParticipantDPOptimizer(DPOptimizer):
    """Opacus's ``DPOptimizer`` with one participant as the privacy unit: per-window gradients are summed in
    blocks of ``windows_per_participant`` rows before Opacus clips each block to ``max_grad_norm``, adds
    Gaussian noise of sd ``noise_multiplier * max_grad_norm`` to the sum and divides by ``expected_batch_size``
    (the expected number of sampled participants)."""

    def __init__(self, optimizer: torch.optim.Optimizer, *, windows_per_participant: int, **kwargs) -> None:
        super().__init__(optimizer, **kwargs)
        self.windows_per_participant = windows_per_participant

    def clip_and_accumulate(self) -> None:
        for p in self.params:
            rows = self._get_flat_grad_sample(p)
            p.grad_sample = rows.reshape(-1, self.windows_per_participant, *rows.shape[1:]).sum(1)
        super().clip_and_accumulate()
