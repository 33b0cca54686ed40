"""The attackers beside the one that retrains on the transformed references.

Every reid attack model is trained on references cut from the release itself, so it knows the transform
and its parameters (Kerckhoffs' principle). Two more attackers are scored where they apply:

- **population** (a learned release, the privatiser): the adversary holds a population of its own (the
  synthetic corpus with generator seed ``population_seed``), runs the published privatiser on it, trains
  an identity classifier on that output and links each probe to the reference it resembles most in the
  classifier's embedding (cosine similarity of mean log-probabilities, as open-set verification does).
- **fixed** (a transform that keeps the columns): the attack model trained on the *raw* references, as
  an adversary would that ignores the transform, scoring the transformed probes; reported beside the
  adaptive ones as the weaker attacker (``weaker`` says whether it was).
"""

from __future__ import annotations

import numpy as np

from privbench.attacks.reid.attack import ClosedSet, Windowing, closed_set_scores, rank, train, unit_embedding
from privbench.attacks.reid.linkage import Cut, LinkageTruth, LinkageView, cut
from privbench.errors import ConfigError
from privbench.progress import Progress
from privbench.release.build import build_release
from privbench.release.population import synthetic_population
from privbench.release.series import Release, raw_release
from privbench.release.settings import ReleaseSettings

LEARNED = ("privatiser",)
UNCHANGED = ("raw", "predictions")


def population_scores(view: LinkageView, truth: LinkageTruth, settings: ReleaseSettings, *, model: str,
                      windowing: Windowing, population: tuple[int, int, float], resamples: int, seed: int,
                      progress: Progress) -> dict[str, dict]:
    """The population attacker's closed-set scores; ``population`` is (seed, participants, seconds)."""
    if settings.privatiser.public == "synthetic" and population[0] == settings.privatiser.public_seed:
        raise ConfigError(f"population_seed {population[0]} is the privatiser's public population "
                          "(privatiser.public_seed): the attacker's own population is another one")
    own, _ = synthetic_population(*population, progress, "population")
    released = build_release(own, settings, progress=progress)
    classifier = train(model, released.series, view, windowing)
    identities = sorted(view.references)
    references = np.stack([unit_embedding(classifier, view.references[i], windowing) for i in identities])
    probes = sorted(view.probes)
    similarity = np.stack([unit_embedding(classifier, view.probes[p], windowing) for p in probes]) @ references.T
    return closed_set_scores(ClosedSet(identities, probes, similarity), truth, resamples=resamples, seed=seed)


def fixed_scores(dataset, release: Release, view: LinkageView, truth: LinkageTruth, *, frames: Cut, model: str,
                 windowing: Windowing, resamples: int, seed: int) -> dict[str, dict] | None:
    """The fixed attacker's closed-set scores, None where the release keeps no raw columns to train on."""
    if release.representation in UNCHANGED or release.columns != tuple(dataset.manifest.au_columns):
        return None
    raw = raw_release(dataset)  # read only where the fixed attacker applies
    raw_view, _ = cut(raw, sorted(view.references), frames, seed)
    fixed = LinkageView(raw_view.references, view.probes, release.columns, release.fps)
    return closed_set_scores(rank(fixed, model, windowing), truth, resamples=resamples, seed=seed)


def strongest(scored: dict[str, dict[str, dict]]) -> str:
    """The adaptive attacker with the highest top-1 (the retrained one on ties)."""
    return max(scored, key=lambda name: (scored[name]["metrics"]["top1"], name == "retrained"))


def attacker_metrics(scored: dict[str, dict[str, dict]], fixed: dict[str, dict] | None) -> dict[str, dict]:
    """``<attacker>_top1`` / ``_top5`` with baselines and intervals, for metrics.json beside the headline."""
    out: dict[str, dict] = {"metrics": {}, "baseline": {}, "ci95": {}}
    for name, scores in {**scored, **({"fixed": fixed} if fixed else {})}.items():
        for part in out:
            out[part].update({f"{name}_{k}": v for k, v in scores[part].items()})
    return out
