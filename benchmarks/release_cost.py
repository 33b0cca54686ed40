"""What the AU release transforms add to an `au` run's wall time (target: under 10%), in one run on one machine.

An `au` run builds its release once and every fold reads it (privbench.release.build), so a transform costs
its build time once per run. This script times one whole `au` run on the raw release (default profile,
default synthetic data, ``--folds`` folds), then builds every transform's release at the benchmark's middle
strength from a fresh read of the data (the AU tables read again each time, as a run does), and prints
each build's seconds and its share of the run. The privatiser is timed cold (its encoder trained, the cache
a fresh key) with its public population already generated, then again with the encoder from the cache (what a
run with the same settings pays later); the population's generation (once per machine, cached like the synthetic
data) is on a line of its own.

Usage: python benchmarks/release_cost.py [--folds 8] [--rnn bigru]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def au_seconds(folds: int, rnn: str) -> float:
    from privbench import experiment
    from privbench.progress import Progress

    spec = experiment.resolve("au", rnn, "default", folds=folds, device="cpu")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        experiment.run(spec, Path(out) / "run", Progress(enabled=False))
    return time.perf_counter() - started


def build_seconds(root: Path, name: str, assignments: tuple[str, ...]) -> float:
    from privbench.data.layout import Dataset
    from privbench.progress import Progress
    from privbench.release.build import build_release, release_settings

    settings = release_settings(name, list(assignments))
    started = time.perf_counter()
    build_release(Dataset(root), settings, progress=Progress(enabled=False))
    return time.perf_counter() - started


def public_seconds() -> float:
    """Generating the privatiser's default public population (skipped, 0, when it is cached)."""
    from privbench.progress import Progress
    from privbench.release.build import release_settings
    from privbench.release.population import synthetic_population

    own = release_settings("privatiser").privatiser
    started = time.perf_counter()
    synthetic_population(own.public_seed, own.public_participants, own.public_seconds, Progress(enabled=False), "")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=8)
    parser.add_argument("--rnn", default="bigru")
    args = parser.parse_args()
    from privbench.config import build, profile_values
    from privbench.data.generate import synthetic_dataset
    from privbench.data.synthetic import SyntheticConfig
    from privbench.progress import Progress
    from privbench.release import STRENGTHS

    root = synthetic_dataset(build(SyntheticConfig, profile_values("synthetic", "default"), "synthetic"), False,
                             Progress(enabled=False))
    run = au_seconds(args.folds, args.rnn)
    print(f"au run, raw release, default profile, {args.folds} folds: {run:.1f} s")
    print(f"privatiser's public population generated: {public_seconds():.1f} s (once per machine, then cached)")
    print(f"{'release':32} {'build s':>8} {'share of the run':>17}")
    for name, strengths in {"raw": {"": ()}, **STRENGTHS}.items():
        labels = list(strengths)
        label = labels[len(labels) // 2]
        cold = (f"release_seed={time.time_ns() % 10**9}",) if name == "privatiser" else ()  # no cached encoder
        seconds = build_seconds(root, name, (*strengths[label], *cold))
        print(f"{name + (' ' + label if label else ''):32} {seconds:8.2f} {seconds / run:16.1%}", flush=True)
        if cold:  # the same encoder again, from the cache: what every later run with these settings pays
            seconds = build_seconds(root, name, (*strengths[label], *cold))
            print(f"{name + ' ' + label + ' (cached encoder)':32} {seconds:8.2f} {seconds / run:16.1%}", flush=True)


if __name__ == "__main__":
    main()
