"""The adversary, installed as ``privbench.attacks``: one module per attack, the attack models and
metrics. ``ATTACKS`` is declared here without importing them (``privbench list`` reads it).

An attack sees only what its threat model releases (docs/threat_models.md); ground truth reaches its
scoring, never its inference.
"""

from __future__ import annotations

from typing import Any

from privbench.registry import Registry

ATTACKS: Registry[Any] = Registry("attack")
ATTACKS.declare("reid", "privbench.attacks.reid.run:REID",
                "who is this: link released AU segments to labelled references (top-1/5, verification AUC, EER)")
ATTACKS.declare("demographics", "privbench.attacks.demographics.run:DEMOGRAPHICS",
                "gender, age band, language of unseen people from their AUs (balanced accuracy, AUC, p-value)")
ATTACKS.declare("gradinv", "privbench.attacks.gradinv.run:GRADINV",
                "gradient inversion: client face frames from one federated update (PSNR, SSIM, face re-identification)")
ATTACKS.declare("membership", "privbench.attacks.membership.run:MEMBERSHIP",
                "was this person trained on: loss-threshold and LiRA attacks on a run's fold models (AUC, TPR at "
                "low FPR, epsilon lower bound)")

__all__ = ["ATTACKS"]
