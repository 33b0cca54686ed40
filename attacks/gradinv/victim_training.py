"""Training progress: the weights a server sends after earlier rounds, not only at round 0.

``train_victim`` trains the victim model in place for ``steps`` Adam steps on examples of participants
who are not victims (so the model has never seen a victim's frames), with the project's training loop
and the client's loss, each module kept in the mode the client trains it (eval-mode BatchNorm stays in
eval mode). The attack then inverts an update of this trained model.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from privbench.attacks.gradinv.client_round import KeptMode
from privbench.attacks.gradinv.objectives import client_loss
from privbench.attacks.gradinv.threat import PixelSpace
from privbench.attacks.gradinv.victims import choose_victims, usable_rows
from privbench.data.layout import Dataset
from privbench.errors import InputError
from privbench.train.loop import TrainingSetup, adam, run_steps

TRAINING_LR = 1e-3
TRAINING_BATCH = 16
EXAMPLES_PER_PERSON = 32


def train_victim(model: torch.nn.Module, dataset: Dataset, *, steps: int, victims: set[str], seq_len: int,
                 frame_size: int, pixels: PixelSpace, seed: int) -> None:
    """``steps`` Adam steps (lr 1e-3, batches of 16) on up to 32 examples of every non-victim participant."""
    length = max(seq_len, 1)
    others = [p for p in dataset.ids if p not in victims and dataset.has_frames(p)
              and len(usable_rows(dataset, p)) >= length]
    if not others:
        raise InputError(f"{dataset.root}: trained_steps needs participants who are not victims to train on; "
                         f"every participant with frames is a victim (lower --set victims=...)")
    inputs, targets = [], []
    for pid in others:
        per_person = min(EXAMPLES_PER_PERSON, len(usable_rows(dataset, pid)) // length)
        (client,), _ = choose_victims(dataset, victims=1, batch=per_person, seq_len=seq_len, frame_size=frame_size,
                                      seed=seed, among=[pid])
        inputs.append(pixels.to_model(client.pixels))
        targets.append(client.targets)
    data = TensorDataset(torch.cat(inputs), torch.cat(targets))
    loader = DataLoader(data, batch_size=TRAINING_BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed))
    optimizer = adam([p for p in model.parameters() if p.requires_grad], TRAINING_LR)
    run_steps(TrainingSetup(KeptMode(model), optimizer, loader, client_loss), device=torch.device("cpu"), steps=steps)
