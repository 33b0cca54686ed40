"""What DP-SGD costs per epoch: plain training against DP-SGD with the window and with the participant as the
privacy unit, for `au` (default profile, default synthetic data) and `central` (quick profile and data), in one
run on one machine (the ratio is what carries over). Each variant trains the first fold of the method for
``--epochs`` epochs; the seconds are the mean of its epochs (``FitHistory.epoch_seconds``).

Usage: python benchmarks/dpsgd_cost.py [--epochs N] [--rnn bigru]
"""

from __future__ import annotations

import argparse

VARIANTS = {"plain": [], "dp window": ["dp.epsilon=3"],
            "dp participant": ["dp.epsilon=3", "dp.unit=participant"]}
CASES = {"au": ("default", []), "central": ("quick", ["dp.warmup=none", "warmup_steps=0"])}


def epoch_seconds(method: str, profile: str, rnn: str, assignments: list[str]) -> float:
    import numpy as np
    import torch

    from privbench import experiment
    from privbench.data.splits import make_splits
    from privbench.defences import dp_assignments
    from privbench.methods import METHODS
    from privbench.progress import Progress

    target = [a.partition("=")[2] for a in assignments if a.startswith("dp.epsilon=")]
    if target:
        assignments = dp_assignments(method, float(target[0]),
                                     given=[a for a in assignments if not a.startswith("dp.epsilon=")])
    spec = experiment.resolve(method, rnn, profile, folds=8, device="cpu", assignments=assignments)
    quiet = Progress(enabled=False)
    dataset = experiment.open_dataset(spec, quiet)
    split = make_splits(dataset.ids, 8, 0, spec.train.stopping.val_participants)[0]
    output = METHODS.get(method).train_fold(dataset, split, spec.train, rnn, 0, torch.device("cpu"), quiet)
    return float(np.mean(output.history.epoch_seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rnn", default="bigru")
    args = parser.parse_args()
    print(f"{'method':8} {'profile':8} {'variant':15} {'s/epoch':>8} {'x plain':>8}")
    for method, (profile, extra) in CASES.items():
        plain = None
        for variant, assignments in VARIANTS.items():
            seconds = epoch_seconds(method, profile, args.rnn, [f"epochs={args.epochs}", "patience=0", *extra,
                                                                 *assignments])
            plain = plain or seconds
            print(f"{method:8} {profile:8} {variant:15} {seconds:8.2f} {seconds / plain:8.2f}", flush=True)


if __name__ == "__main__":
    main()
