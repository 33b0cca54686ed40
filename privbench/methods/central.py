"""The ``central`` method: ResNet18 + RNN trained end to end on face frames gathered centrally."""

from __future__ import annotations

import torch

from privbench.data.frames import FrameSequence
from privbench.defences import private_stage
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.configs import CentralConfig
from privbench.methods.frame_fold import FrameFold, public_frames
from privbench.progress import Progress
from privbench.train.frame_pretrain import pretrain_frames
from privbench.train.loop import fit
from privbench.train.setup import central_training, unwrapped


class CentralMethod:
    """Train ResNet18 + RNN end to end on windows of face frames; predict each test participant whole."""

    config_type = CentralConfig
    needs_frames = True
    description = "ResNet18 + RNN/BiGRU/BiLSTM on face frames, trained centrally"

    def train_fold(
        self, dataset: Dataset, split: Split, config: CentralConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        fold = FrameFold.prepare(dataset, split, config, rnn, seed, device)
        frames = config.frames
        warmup = warmup_frames(dataset, fold, config, progress)
        if frames.warmup_steps and warmup:
            pretrain_frames(fold.model, warmup, steps=frames.warmup_steps, batch_size=frames.warmup_batch,
                            lr=config.optim.lr, loss_name=config.optim.loss, seed=seed, device=device,
                            progress=progress, num_workers=config.num_workers)
        private = private_stage(config.dp, epochs=config.epochs, seed=seed)
        setup = central_training(fold.model, fold.train, windows=config.windows, optim=config.optim, frames=frames,
                                 epochs=config.epochs, windows_per_epoch=config.windows_per_epoch,
                                 schedule=config.lr_schedule, num_workers=config.num_workers, seed=seed,
                                 wrap=private or unwrapped)
        history = fit(setup, epochs=config.epochs, device=device, progress=progress, model=fold.model,
                      validate=fold.validator, patience=config.stopping.patience)
        if private:
            fold.notes.update(private.notes(loss=config.optim.loss, validation=len(fold.validation)))
        return fold.output(history, privacy=private.accounting() if private else {})


def warmup_frames(dataset: Dataset, fold: FrameFold, config: CentralConfig, progress: Progress) -> list[FrameSequence]:
    """What the frame warm-up trains on: the training participants; under DP-SGD, which they may not touch
    outside the accountant, a public population of other people (``dp.warmup=public``: the quick synthetic
    data with generator seed ``dp.public_seed``, the stand-in for public pretrained weights) or nothing."""
    dp = config.dp
    if not dp.enabled:
        return fold.train
    if dp.warmup == "none" or not config.frames.warmup_steps:
        fold.notes["frame_warmup"] = "none (DP-SGD: the training participants are touched only by the accountant)"
        return []
    return public_frames(dataset, fold, seed=dp.public_seed, progress=progress)


METHODS.register("central")(CentralMethod())
