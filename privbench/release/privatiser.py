"""``privatiser``: a small learned encoder whose output is the release.

Each participant's AU series is z-scored on its own (which removes each person's baseline and range),
then a per-frame encoder (35 -> 32 -> ``privatiser.dims``, tanh) maps it to the released features. The
encoder is trained on a *public* population, never on the private participants: the synthetic corpus with
another generator seed (``privatiser.public_seed``; the private data's own settings are refused) or a
dataset folder. Two heads train with it on windows of 4 s: a GRU that predicts valence and arousal (kept:
the affect model learns from the release) and an identity classifier on the window statistics an attacker
reads (per feature mean and standard deviation, their pairwise correlations) whose gradient reaches the
encoder reversed and scaled by ``privatiser.weight`` (gradient reversal, Ganin & Lempitsky 2015). The last
fifth of each public session is held out of training (the tests attack it).

Training and applying run on one thread, so the weights and the release are the same bits in every
process; the trained encoder is cached under the synthetic-data cache (``privatiser/<key>.pt``).
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from privbench.data.generate import cache_root
from privbench.data.labels import gold_labels
from privbench.data.layout import Dataset
from privbench.errors import ConfigError
from privbench.progress import Progress
from privbench.release.basic import zscore
from privbench.release.population import synthetic_population
from privbench.release.series import Context, Release, Transform, replace_series
from privbench.release.settings import PrivatiserSettings, ReleaseSettings

VERSION = 1  # bump when the encoder or its training changes: cached encoders are then retrained
WINDOW, STRIDE, HOLDOUT = 100, 50, 0.2
HIDDEN, BATCH, LR = 32, 64, 3e-3


class _Reverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad, None


def window_statistics(z: torch.Tensor) -> torch.Tensor:
    """[N, T, D] -> [N, 2D + D(D-1)/2]: per feature mean and sd over the window, pairwise correlations."""
    mean, std = z.mean(1), z.std(1) + 1e-4
    centred = (z - mean[:, None]) / std[:, None]
    corr = torch.einsum("ntd,nte->nde", centred, centred) / z.shape[1]
    upper = torch.triu_indices(z.shape[2], z.shape[2], 1)
    return torch.cat([mean, std, corr[:, upper[0], upper[1]]], dim=1)


class Privatiser(nn.Module):
    """The encoder, with the two heads it trains against (the heads are not part of the release)."""

    def __init__(self, features: int, dims: int, identities: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(features, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, dims), nn.Tanh())
        self.affect = nn.GRU(dims, 16, batch_first=True)
        self.affect_out = nn.Linear(16, 2)
        width = 2 * dims + dims * (dims - 1) // 2
        self.identity = nn.Sequential(nn.Linear(width, 64), nn.ReLU(), nn.Linear(64, identities))

    def forward(self, x: torch.Tensor, weight: float) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        affect = self.affect_out(self.affect(z)[0])
        return affect, self.identity(window_statistics(_Reverse.apply(z, weight)))


@contextmanager
def one_thread() -> Iterator[None]:
    """torch on one thread: the same reductions in the same order, whatever the process's thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def public_population(settings: PrivatiserSettings, private: Dataset, progress: Progress) -> tuple[Dataset, str]:
    """The public population and a name of it for the cache key; the private data itself is refused."""
    if settings.public == "synthetic":
        public, key = synthetic_population(settings.public_seed, settings.public_participants,
                                           settings.public_seconds, progress, "privatiser.public")
        name = f"synthetic:{key}"
    else:
        public = Dataset(settings.public)
        name = f"folder:{public.root.resolve()}"
    if public.root.resolve() == private.root.resolve():
        raise ConfigError(f"privatiser.public is the private data set itself ({private.root}); the privatiser "
                          "trains on a disjoint public population (another privatiser.public_seed or folder)")
    return public, name


def _windows(values: np.ndarray) -> np.ndarray:
    starts = np.arange(0, len(values) - WINDOW + 1, STRIDE)
    return np.stack([values[s: s + WINDOW] for s in starts])


def training_windows(public: Dataset, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The public people's z-scored windows, gold labels and identities (the first 80% of each session)."""
    missing = [c for c in columns if c not in public.manifest.au_columns]
    if missing:
        raise ConfigError(f"privatiser.public {public.root}: lacks the released AU column(s) {', '.join(missing)}")
    inputs, labels, identities = [], [], []
    for index, pid in enumerate(public.ids):
        aus = public.aus(pid)
        keep = int(len(aus) * (1 - HOLDOUT))
        gold = gold_labels(public, pid, aus["timestamp"].to_numpy(float))[:keep]
        windows = _windows(zscore(aus[list(columns)].to_numpy(np.float32))[:keep])
        inputs.append(windows)
        labels.append(_windows(gold))
        identities.append(np.full(len(windows), index))
    return np.concatenate(inputs), np.concatenate(labels), np.concatenate(identities)


def train(settings: PrivatiserSettings, inputs: np.ndarray, labels: np.ndarray, identities: np.ndarray,
          seed: int, progress: Progress) -> Privatiser:
    """Adversarial training: affect MSE + identity cross-entropy; the encoder gets the identity gradient reversed."""
    torch.manual_seed(seed)
    model = Privatiser(inputs.shape[2], settings.dims, int(identities.max()) + 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    x, y, who = torch.from_numpy(inputs), torch.from_numpy(labels), torch.from_numpy(identities)
    generator = torch.Generator().manual_seed(seed)
    task = progress.add("privatiser epochs", total=settings.epochs)
    for _ in range(settings.epochs):
        for batch in torch.randperm(len(x), generator=generator).split(BATCH):
            optimiser.zero_grad()
            affect, identity = model(x[batch], settings.weight)
            loss = nn.functional.mse_loss(affect, y[batch]) + nn.functional.cross_entropy(identity, who[batch])
            loss.backward()
            optimiser.step()
        progress.advance(task)
    progress.remove(task)
    return model.eval()


def _cache_key(settings: PrivatiserSettings, public: str, columns: tuple[str, ...], seed: int) -> str:
    text = json.dumps({"version": VERSION, "settings": asdict(settings), "public": public, "columns": columns,
                       "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encoder_for(settings: ReleaseSettings, columns: tuple[str, ...], context: Context) -> nn.Module:
    """The trained encoder (from the cache, else trained now and cached)."""
    own = settings.privatiser
    public, name = public_population(own, context.dataset, context.progress)
    path = cache_root() / "privatiser" / f"{_cache_key(own, name, columns, settings.release_seed)}.pt"
    encoder = Privatiser(len(columns), own.dims, 1).encoder
    if path.is_file():
        try:
            encoder.load_state_dict(torch.load(path, weights_only=True))
            return encoder.eval()
        except (RuntimeError, OSError, EOFError, KeyError):
            context.progress.note(f"{path}: unreadable cached privatiser; training it again")
    with one_thread():
        model = train(own, *training_windows(public, columns), seed=settings.release_seed, progress=context.progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    torch.save(model.encoder.state_dict(), partial)
    os.replace(partial, path)
    return model.encoder.eval()


@torch.no_grad()
def encode(encoder: nn.Module, values: np.ndarray) -> np.ndarray:
    """One participant's release: the encoder on their z-scored series, on one thread."""
    with one_thread():
        return encoder(torch.from_numpy(zscore(values))).numpy().astype(np.float32)


def _privatiser(base: Release, settings: ReleaseSettings, context: Context) -> Release:
    encoder = encoder_for(settings, base.columns, context)
    series = {pid: encode(encoder, values) for pid, values in base.series.items()}
    dims = settings.privatiser.dims
    columns = tuple(f"privatised_{i}" for i in range(dims))
    return replace_series(base, "privatiser", series, columns=columns, centre=np.zeros(dims, np.float32),
                          scale=np.ones(dims, np.float32),
                          notes={"release": f"privatiser: {dims} features per frame, trained on a public population "
                                            f"({settings.privatiser.public}, seed {settings.privatiser.public_seed})"})


PRIVATISER = Transform(_privatiser)
