"""DP-SGD as a wrapper of a plain training stage (``privbench.train.setup.SetupWrapper``): Opacus's
``PrivacyEngine.make_private`` for the window as the privacy unit, Opacus's parts with participant blocks
(``participants.py``) for the participant. The noise multiplier comes from Opacus's accountant for the steps
the stage will take (``epochs`` x its steps per epoch), so stopping early only spends less."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from opacus import GradSampleModule, PrivacyEngine
from opacus.accountants import create_accountant
from opacus.accountants.accountant import IAccountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.validators import ModuleValidator
from torch.utils.data import DataLoader

from privbench.errors import ConfigError
from privbench.settings import DPSettings
from privbench.train.dpsgd.participants import EmptySafeCollate, ParticipantBatches, ParticipantDPOptimizer
from privbench.train.loop import TrainingSetup

GUARANTEES = {
    "window": "example-level: one training window; a person contributes many windows, so this does not "
              "protect a person",
    "participant": "user-level: all of one training participant's data",
}


@dataclass
class DPSGD:
    """A ``SetupWrapper`` making one stage differentially private; ``accounting()`` after training is the fold
    model's privacy record. ``noise_multiplier`` set directly (e.g. 0 in a test) replaces the accountant's
    choice for ``settings.epsilon``; ``repeats``: the stage runs this many times with the same data (a federated
    client's rounds), and the noise is chosen for all of them."""

    settings: DPSettings
    epochs: int
    seed: int
    noise_multiplier: float | None = None
    repeats: int = 1
    accountant: IAccountant | None = field(default=None, init=False)
    sample_rate: float = field(default=math.nan, init=False)
    planned_steps: int = field(default=0, init=False)

    def __call__(self, setup: TrainingSetup) -> TrainingSetup:
        _validate(setup.model)
        owners = [owner for owner, _ in setup.loader.dataset.index]
        participant = self.settings.unit == "participant"
        units = len(set(owners)) if participant else len(owners)
        if self.settings.delta >= 1 / units:
            raise ConfigError(f"dp.delta {self.settings.delta:g} must be below 1 / the {units} privacy units "
                              f"({self.settings.unit}s) of the training set")
        steps_per_epoch = setup.steps_per_epoch or len(setup.loader)
        self.planned_steps = self.epochs * steps_per_epoch * self.repeats
        self.sample_rate = min(1.0, self.settings.participants_per_step / units) if participant \
            else 1 / len(setup.loader)
        sigma = self._noise()
        noise = torch.Generator().manual_seed(self.seed)
        if participant:
            return self._participants(setup, owners, sigma, noise, steps_per_epoch)
        engine = PrivacyEngine(accountant=self.settings.accountant)
        model, optimizer, loader = engine.make_private(
            module=setup.model, optimizer=setup.optimizer, data_loader=setup.loader, noise_multiplier=sigma,
            max_grad_norm=self.settings.max_grad_norm, poisson_sampling=True, noise_generator=noise)
        self.accountant = engine.accountant
        return dataclasses.replace(setup, model=model, optimizer=optimizer, loader=loader)

    def _noise(self) -> float:
        if self.noise_multiplier is not None:
            return self.noise_multiplier
        return get_noise_multiplier(target_epsilon=self.settings.epsilon, target_delta=self.settings.delta,
                                    sample_rate=self.sample_rate, steps=self.planned_steps,
                                    accountant=self.settings.accountant, epsilon_tolerance=0.01)

    def _participants(self, setup: TrainingSetup, owners: list[int], sigma: float, noise: torch.Generator,
                      steps_per_epoch: int) -> TrainingSetup:
        dp = self.settings
        batches = ParticipantBatches(owners, rate=self.sample_rate, windows=dp.windows_per_participant,
                                     steps=steps_per_epoch, generator=torch.Generator().manual_seed(self.seed + 1))
        dataset = setup.loader.dataset
        loader = DataLoader(dataset, batch_sampler=batches, collate_fn=EmptySafeCollate(dataset),
                            num_workers=setup.loader.num_workers)
        model = GradSampleModule(setup.model, loss_reduction="mean")
        optimizer = ParticipantDPOptimizer(
            setup.optimizer, windows_per_participant=dp.windows_per_participant, noise_multiplier=sigma,
            max_grad_norm=dp.max_grad_norm, expected_batch_size=self.sample_rate * batches.participants,
            generator=noise)
        self.accountant = create_accountant(dp.accountant)
        optimizer.attach_step_hook(self.accountant.get_optimizer_hook_fn(sample_rate=self.sample_rate))
        return dataclasses.replace(setup, model=model, optimizer=optimizer, loader=loader, steps_per_epoch=None)

    def notes(self, *, loss: str, validation: int) -> dict[str, str]:
        """What a reader of a DP run must know beside its epsilon: the loss it minimised and who chose the epoch."""
        chooser = (f"{validation} validation participant(s) per fold choose the kept epoch: the guarantee covers "
                   "the training participants, not them" if validation else "no validation: the last epoch is kept")
        return {"dp_loss": f"{loss}, a mean of per-window terms (DP-SGD clips per unit)", "dp_validation": chooser}

    def spent(self) -> tuple[float, float, int]:
        """What the stage spent, as an accountant's history entry: noise multiplier, sample rate, steps taken."""
        if self.accountant is None:
            raise RuntimeError("DPSGD used before the stage was wrapped")
        steps = sum(entry[-1] for entry in self.accountant.history)
        sigma = self.accountant.history[0][0] if self.accountant.history else self._noise()
        return float(sigma), float(self.sample_rate), int(steps)

    def accounting(self) -> dict[str, Any]:
        """The privacy record of what this stage trained (metrics.json ``privacy`` per fold)."""
        dp, (sigma, _, steps) = self.settings, self.spent()
        epsilon = self.accountant.get_epsilon(dp.delta) if steps and sigma > 0 else math.inf
        return {"mechanism": "dp-sgd", "unit": dp.unit, "guarantee": GUARANTEES[dp.unit], "epsilon": float(epsilon),
                "target_epsilon": dp.epsilon, "delta": dp.delta, "accountant": dp.accountant,
                "noise_multiplier": float(sigma), "max_grad_norm": dp.max_grad_norm,
                "sample_rate": float(self.sample_rate), "steps": int(steps), "planned_steps": self.planned_steps}


def _validate(model: torch.nn.Module) -> None:
    """Opacus's ``ModuleValidator``, its findings as one line."""
    errors = ModuleValidator.validate(model, strict=False)
    if errors:
        found = "; ".join(dict.fromkeys(str(e).strip().split("\n")[0] for e in errors))
        raise ConfigError(f"DP-SGD cannot train this model: {found} (frame methods: --set backbone.norm=group)")
