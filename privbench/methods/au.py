"""The ``au`` method: an RNN / BiGRU / BiLSTM on OpenFace Action Unit sequences (images discarded)."""

from __future__ import annotations

import numpy as np
import torch

from privbench.data.labels import gold_labels
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.data.windows import Normalizer, Sequence
from privbench.defences import private_stage
from privbench.errors import ConfigError
from privbench.evaluate.metrics import mean_ccc
from privbench.evaluate.predict import predict_sequence
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.configs import AUConfig
from privbench.progress import Progress
from privbench.release.build import build_release, release_line
from privbench.release.series import Release
from privbench.train.loop import fit
from privbench.train.setup import au_model, au_training, unwrapped


def au_sequence(dataset: Dataset, pid: str, release: Release | None = None) -> Sequence:
    """A participant's AU intensities and presences [T, 35] (or their ``release``, transformed) with gold
    labels [T, 2] (the reader has checked both tables: finite values, increasing timestamps, gold in [-1, 1])."""
    aus = dataset.aus(pid)
    inputs = release.series[pid] if release is not None else aus[dataset.manifest.au_columns].to_numpy(np.float32)
    return Sequence(pid, inputs, gold_labels(dataset, pid, aus["timestamp"].to_numpy(float)))


class AUMethod:
    """Train an RNN head on windows of normalised AU features; predict each test participant whole. With
    validation participants, the best epoch is kept (``patience`` stops early); without, the last."""

    config_type = AUConfig
    needs_frames = False
    description = "RNN/BiGRU/BiLSTM on facial Action Units (images discarded)"

    def train_fold(
        self, dataset: Dataset, split: Split, config: AUConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        torch.manual_seed(seed)
        release = build_release(dataset, config.transform, progress=progress)  # built once, shared by the folds
        train, validation, test = ([au_sequence(dataset, pid, release) for pid in ids]
                                   for ids in (split.train, split.validation, split.test))
        shortest = min(train + validation + test, key=lambda s: len(s.inputs))
        if config.windows.seq_len > len(shortest.inputs):
            raise ConfigError(
                f"seq_len {config.windows.seq_len} is longer than participant {shortest.participant}'s "
                f"{len(shortest.inputs)} frames"
            )
        normalize = Normalizer(release.centre, release.scale) if config.dp.enabled else Normalizer.fit(train)
        train, validation, test = ([normalize(s) for s in part] for part in (train, validation, test))
        width = train[0].inputs.shape[1]
        model = au_model(width, rnn, config.head, dp_compatible=config.dp.enabled).to(device)
        private = private_stage(config.dp, epochs=config.epochs, seed=seed)
        setup = au_training(model, train, windows=config.windows, optim=config.optim, seed=seed,
                            wrap=private or unwrapped)

        def predict(m: torch.nn.Module, seq: Sequence) -> np.ndarray:
            def fetch(start: int, stop: int) -> torch.Tensor:
                return torch.from_numpy(seq.inputs[start:stop])

            return predict_sequence(m, fetch, length=len(seq.inputs), window=config.windows.seq_len,
                                    batch_size=config.optim.batch_size, device=device)

        def validate(m: torch.nn.Module) -> float:
            return mean_ccc([s.labels for s in validation], [predict(m, s) for s in validation])

        history = fit(setup, epochs=config.epochs, device=device, progress=progress, model=model,
                      validate=validate if validation else None, patience=config.stopping.patience)
        return FoldOutput(
            predictions={s.participant: predict(model, s) for s in test},
            labels={s.participant: s.labels for s in test},
            model=model,
            history=history,
            example_input=lambda frames: torch.randn(1, frames, width),
            preprocessing={"mean": normalize.mean, "std": normalize.std},
            privacy=private.accounting() if private else {},
            notes={**(private.notes(loss=config.optim.loss, validation=len(validation)) if private else {}),
                   **(release_line(release) if config.transform.release != "raw" else {})},
        )


METHODS.register("au")(AUMethod())
