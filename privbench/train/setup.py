"""The one factory: each training stage's model, optimiser, loader and loss, from typed settings.

Stages (builder: model; optimiser; loader):

- ``au`` epochs (``au_training``): ``au_model``; Adam; every AU window, reshuffled each epoch.
- frame warm-up of ``central`` and of ``fedavg``'s warm-up rounds (``frame_warmup_training``): ``FrameReadout``;
  fused Adam, one-cycle; single frames, an endless reshuffled stream.
- ``central`` end to end (``central_training``): ``frame_model``; fused Adam (backbone at lr x scale), one-cycle
  or constant; every window, an epoch ending after ``windows_per_epoch`` of them.
- ``fedavg`` client step (``client_training``): ``frame_model``; fused Adam (backbone at lr x scale); the
  client's windows, reshuffled each epoch.

Every builder passes its ``TrainingSetup`` through ``wrap`` (a ``SetupWrapper``, ``(setup) -> setup``) before
returning it: the place where a defence changes how a stage trains (DP-SGD: Opacus's ``make_private`` on the
setup's model, optimiser and loader). A wrapper may wrap ``setup.model`` but must train its parameters in
place: the method predicts with the model it built. Loaders are plain DataLoaders whose length is one pass
over their dataset, so Opacus can rebuild them (``DPDataLoader.from_data_loader``: Poisson sampling at
``batch_size / len(dataset)``); epoch bounds live in ``steps_per_epoch``, never in the sampler.
``dp_compatible`` models have Opacus's recurrent layers and, for frames, a backbone without in-place
operations run once per time step, so per-sample gradients are per window (docs/methods.md).
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch
from torch.utils.data import DataLoader, RandomSampler, Sampler
from torch.utils.data import Dataset as TorchDataset

from privbench.data.frames import FrameSequence, FrameWindowDataset, compute_statistics
from privbench.data.windows import Sequence, WindowDataset
from privbench.models.backbone import build_backbone
from privbench.models.frame_model import FrameReadout, FrameSequenceModel
from privbench.models.heads import SequenceRegressor
from privbench.settings import BackboneConfig, FrameSettings, HeadSettings, OptimiserSettings, WindowSettings
from privbench.train.loop import LOSSES, TrainingSetup, adam, one_cycle

SetupWrapper = Callable[[TrainingSetup], TrainingSetup]


def unwrapped(setup: TrainingSetup) -> TrainingSetup:
    """The plain stage: no wrapper."""
    return setup


class Reshuffled(Sampler[int]):
    """Random permutations of ``dataset`` one after another, without end: steps-based training takes its
    batches from the stream (a batch may span two permutations). ``len`` is one pass over the dataset."""

    def __init__(self, dataset: TorchDataset, generator: torch.Generator) -> None:
        self.size, self.generator = len(dataset), generator

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        while True:
            yield from torch.randperm(self.size, generator=self.generator).tolist()


class FrameDataset(TorchDataset):
    """Single used frames of several participants: (inputs [3, S, S], gold labels [1, 2])."""

    def __init__(self, sequences: list[FrameSequence]) -> None:
        self.sequences = sequences
        self.index = [(i, j) for i, seq in enumerate(sequences) for j in range(len(seq.rows))]
        compute_statistics(sequences)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        i, j = self.index[item]
        seq = self.sequences[i]
        return seq.inputs(seq.rows[j : j + 1])[0], torch.tensor(seq.labels[j : j + 1])


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def au_model(features: int, rnn: str, head: HeadSettings, *, dp_compatible: bool = False) -> SequenceRegressor:
    """The ``au`` method's RNN head on ``features`` inputs per frame (initialised from the global RNG)."""
    return SequenceRegressor(features, rnn, head.hidden, head.layers, head.fc_units, head.dropout,
                             dp_layers=dp_compatible)


def frame_model(head: HeadSettings, backbone: BackboneConfig, rnn: str, seed: int, *,
                dp_compatible: bool = False, frozen_backbone: bool = False) -> tuple[FrameSequenceModel, str]:
    """A freshly initialised ResNet18 + RNN (seeded: every engine and process builds the same one) and a
    statement of where the backbone weights came from. ``frozen_backbone`` (``trainable=head``): DP-SGD needs no
    per-window gradients of the backbone, so it keeps its fast flattened pass."""
    torch.manual_seed(seed)
    per_window = dp_compatible and not frozen_backbone
    features, weights = build_backbone(backbone, hookable=per_window)
    model = FrameSequenceModel.create(features, rnn, head.hidden, head.layers, head.fc_units, head.dropout,
                                      dp_compatible=dp_compatible, per_step_backbone=per_window)
    return model, weights


def au_training(model: torch.nn.Module, sequences: list[Sequence], *, windows: WindowSettings,
                optim: OptimiserSettings, seed: int, wrap: SetupWrapper = unwrapped) -> TrainingSetup:
    """Every window of the AU sequences each epoch, reshuffled; plain (per-tensor) Adam."""
    loader = DataLoader(WindowDataset(sequences, windows.seq_len, windows.stride), batch_size=optim.batch_size,
                        shuffle=True, generator=_seeded(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=optim.lr)
    return wrap(TrainingSetup(model, optimizer, loader, LOSSES.get(optim.loss)))


def frame_warmup_training(model: FrameSequenceModel, sequences: list[FrameSequence], *, steps: int, batch_size: int,
                          lr: float, loss: str, seed: int, num_workers: int = 0,
                          wrap: SetupWrapper = unwrapped) -> TrainingSetup:
    """``steps`` batches of single frames of all ``sequences`` (one epoch), training the backbone and the
    frame head (``FrameReadout``) under a one-cycle schedule."""
    frames = FrameDataset(sequences)
    loader = DataLoader(frames, batch_size=batch_size, sampler=Reshuffled(frames, _seeded(seed)),
                        num_workers=num_workers)
    readout = FrameReadout(model)
    optimizer = adam(readout.parameters(), lr)
    return wrap(TrainingSetup(readout, optimizer, loader, LOSSES.get(loss), one_cycle(optimizer, steps), steps))


def central_training(model: FrameSequenceModel, sequences: list[FrameSequence], *, windows: WindowSettings,
                     optim: OptimiserSettings, frames: FrameSettings, epochs: int, windows_per_epoch: int,
                     schedule: str, num_workers: int, seed: int, wrap: SetupWrapper = unwrapped) -> TrainingSetup:
    """Windows of all training participants; an epoch is ``windows_per_epoch`` of them (rounded up to whole
    batches; all when there are fewer), a new random draw each epoch; ``schedule`` "onecycle" spans all epochs."""
    dataset = FrameWindowDataset(sequences, windows.seq_len, windows.stride)
    loader = DataLoader(dataset, batch_size=optim.batch_size, sampler=RandomSampler(dataset, generator=_seeded(seed)),
                        num_workers=num_workers, persistent_workers=num_workers > 0)
    bounded = windows_per_epoch < len(dataset)
    steps_per_epoch = math.ceil(windows_per_epoch / optim.batch_size) if bounded else len(loader)
    optimizer = adam(model.parameter_groups(optim.lr, frames.backbone_lr_scale))
    scheduler = one_cycle(optimizer, epochs * steps_per_epoch) if schedule == "onecycle" else None
    setup = TrainingSetup(model, optimizer, loader, LOSSES.get(optim.loss), scheduler,
                          steps_per_epoch if bounded else None)
    return wrap(setup)


def client_training(model: FrameSequenceModel, sequence: FrameSequence, *, windows: WindowSettings,
                    optim: OptimiserSettings, backbone_lr_scale: float, seed: int,
                    wrap: SetupWrapper = unwrapped) -> TrainingSetup:
    """A federated client's windows, reshuffled each epoch; a fresh Adam, the backbone at lr x scale."""
    dataset = FrameWindowDataset([sequence], windows.seq_len, windows.stride)
    loader = DataLoader(dataset, batch_size=optim.batch_size, shuffle=True, generator=_seeded(seed))
    optimizer = adam(model.parameter_groups(optim.lr, backbone_lr_scale))
    return wrap(TrainingSetup(model, optimizer, loader, LOSSES.get(optim.loss)))
