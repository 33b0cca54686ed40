"""What the frame-based methods (``central``, ``fedavg``) share: a split's frame sequences and a fresh model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from privbench.config import build, override, profile_values
from privbench.data.frame_transform import FrameTransform
from privbench.data.frames import FrameSequence, FrameStore
from privbench.data.labels import gold_labels
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.errors import ConfigError, DatasetError
from privbench.evaluate.metrics import mean_ccc
from privbench.evaluate.predict import predict_sequence
from privbench.methods.base import FoldOutput
from privbench.progress import Progress
from privbench.models.frame_model import FrameSequenceModel
from privbench.train.loop import FitHistory
from privbench.train.setup import frame_model as build_model  # the fedavg apps import it from here


def frame_sequence(dataset: Dataset, pid: str, step: int, transform: FrameTransform) -> FrameSequence:
    """A participant's frames (every ``step``-th) with the gold labels of every frame."""
    if not dataset.has_frames(pid):
        raise DatasetError(f"{dataset.root / pid}: no frames.npy; this method trains on face frames")
    labels = gold_labels(dataset, pid, dataset.timestamps(pid))
    return FrameSequence(pid, FrameStore(dataset.root / pid / "frames.npy"), labels, step, transform)


def public_frames(dataset: Dataset, fold: FrameFold, *, seed: int, progress: Progress) -> list[FrameSequence]:
    """A public population of other people, the stand-in for public pretrained weights: the quick synthetic data
    with generator ``seed`` at the private data's frame size, read as ``fold``'s frames are (noted in
    ``fold.notes``). A seed that generates the private data set itself is refused."""
    from privbench.data.generate import synthetic_dataset
    from privbench.data.synthetic import SyntheticConfig

    synthetic = override(build(SyntheticConfig, profile_values("synthetic", "quick"), "configs/synthetic.yaml"),
                         [f"seed={seed}", f"frame_size={dataset.manifest.frame_size or 32}"])
    public = Dataset(synthetic_dataset(synthetic, True, progress))
    if public.root.resolve() == dataset.root.resolve():
        raise ConfigError(f"dp.public_seed {seed} generates the private data set itself; choose another")
    fold.notes["frame_warmup"] = (f"public synthetic population (generator seed {seed}, {len(public.ids)} people), "
                                  "not the training participants")
    transform = FrameTransform(fold.config.frames.normalise, fold.config.frames.input_size)
    return [frame_sequence(public, pid, fold.config.frames.frame_step, transform) for pid in public.ids]


def predict_frames(model: torch.nn.Module, seq: FrameSequence, window: int, batch_size: int,
                   device: torch.device) -> np.ndarray:
    """Per-frame [T, 2] predictions: windows over the subsampled frames, interpolated to every frame."""
    def fetch(start: int, stop: int) -> torch.Tensor:
        return seq.inputs(seq.rows[start:stop])

    sparse = predict_sequence(model, fetch, length=len(seq.rows), window=window, batch_size=batch_size, device=device)
    every = np.arange(len(seq.gold))
    return np.stack([np.interp(every, seq.rows, sparse[:, d]) for d in range(sparse.shape[1])], axis=1)


@dataclass
class FrameFold:
    """One split's train/validation/test frame sequences and a freshly built ResNet18 + RNN model.

    ``config`` is a central or fedavg config (seq_len, frame_step, batch_size, input_size, normalise, model and
    backbone keys).
    """

    train: list[FrameSequence]
    validation: list[FrameSequence]
    test: list[FrameSequence]
    model: FrameSequenceModel
    config: Any
    device: torch.device
    notes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def prepare(cls, dataset: Dataset, split: Split, config: Any, rnn: str, seed: int,
                device: torch.device, local_train: bool = True, frozen_backbone: bool = False) -> FrameFold:
        """Open the split's sequences and build the model (``frozen_backbone``: for ``trainable=head``);
        ``local_train`` False leaves the training participants' data unread (a deployed server: their data stays
        on their SuperNodes)."""
        transform = FrameTransform(config.frames.normalise, config.frames.input_size)
        train, validation, test = ([frame_sequence(dataset, pid, config.frames.frame_step, transform) for pid in ids]
                                   for ids in (split.train if local_train else (), split.validation, split.test))
        shortest = min(train + validation + test, key=lambda s: len(s.rows), default=None)
        if shortest is not None and config.windows.seq_len > len(shortest.rows):
            raise ConfigError(f"seq_len {config.windows.seq_len} x frame_step {config.frames.frame_step} is longer "
                              f"than participant {shortest.participant}'s {len(shortest.gold)} frames")
        model, weights = build_model(config.head, config.frames.backbone, rnn, seed, dp_compatible=config.dp.per_example,
                                     frozen_backbone=frozen_backbone)
        return cls(train, validation, test, model.to(device), config, device, {"backbone_weights": weights})

    def predict(self, model: torch.nn.Module, seq: FrameSequence) -> np.ndarray:
        return predict_frames(model, seq, self.config.windows.seq_len, self.config.optim.batch_size, self.device)

    def validate(self, model: torch.nn.Module) -> float:
        """Mean CCC over both dimensions on the validation participants."""
        return mean_ccc([s.gold for s in self.validation], [self.predict(model, s) for s in self.validation])

    @property
    def validator(self) -> Callable[[torch.nn.Module], float] | None:
        """``validate``, or None without validation participants (train to the end, keep the last weights)."""
        return self.validate if self.validation else None

    def output(self, history: FitHistory, **extra: Any) -> FoldOutput:
        """Predict the test participants with the trained model."""
        side = self.test[0].transform.input_size(self.test[0].store.shape[2])
        return FoldOutput(
            predictions={s.participant: self.predict(self.model, s) for s in self.test},
            labels={s.participant: s.gold for s in self.test},
            model=self.model,
            history=history,
            example_input=lambda frames: torch.randn(1, frames, 3, side, side),
            **{"notes": self.notes, **extra},
        )
