"""Client-level DP for FedAvg by the numbers: the noise each mechanism needs for a target epsilon, and how
epsilon grows with rounds (the accountant only; nothing is trained).

For fedavg's default federation (``--clients`` training participants, ``--fraction`` of them per round) and
each mechanism, target epsilon and number of rounds: the accountant's noise multiplier z (Opacus, the
run's accountant), the noise sd on the averaged update in units of the clipping bound C (server/client:
z C / (q N); local: each client's update gets sd 2 z C, its mean over the round's q N clients
2 z C / sqrt(q N)) and the noise's expected norm over ``--parameters`` coordinates against C, the
largest norm a clipped mean update can have. Then epsilon after r rounds at a fixed z (Opacus's RDP
accountant composed round by round).

Usage: python benchmarks/dpfed_budget.py [--clients 18] [--fraction 0.25] [--parameters 11200000]
"""

from __future__ import annotations

import argparse
import math


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=18)
    parser.add_argument("--fraction", type=float, default=0.25)
    parser.add_argument("--parameters", type=int, default=11_200_000, help="coordinates of the update (ResNet18+RNN)")
    args = parser.parse_args()
    from opacus.accountants import RDPAccountant

    from privbench.defences.federated import dp_record
    from privbench.settings import DPSettings

    expected = args.fraction * args.clients
    print(f"{args.clients} clients, {expected:g} expected per round, {args.parameters:,} coordinates")
    print(f"{'mode':7} {'epsilon':>7} {'rounds':>6} {'z':>8} {'sd / C (mean update)':>21} {'noise norm / C':>15}")
    for mode in ("server", "local"):
        for epsilon in (1.0, 3.0, 8.0):
            for rounds in (10, 30, 100):
                dp = DPSettings(epsilon=epsilon, delta=1e-5, max_grad_norm=1.0, accountant="rdp", mode=mode,
                                unit="window", participants_per_step=1.0, windows_per_participant=1,
                                warmup="none", public_seed=1)
                z = dp_record(dp, clients=args.clients, rounds=rounds, client_fraction=args.fraction)["noise_multiplier"]
                sd = 2 * z / math.sqrt(expected) if mode == "local" else z / expected
                print(f"{mode:7} {epsilon:7g} {rounds:6d} {z:8.3f} {sd:21.4f} {sd * math.sqrt(args.parameters):15.0f}",
                      flush=True)
    print("\nepsilon (delta 1e-5, RDP) after r rounds, server/client sampling at rate q = fraction:")
    for z in (0.5, 1.0, 2.0):
        accountant, line = RDPAccountant(), []
        for r in range(1, 101):
            accountant.step(noise_multiplier=z, sample_rate=args.fraction)
            if r in (1, 10, 30, 100):
                line.append(f"r={r}: {accountant.get_epsilon(delta=1e-5):.2f}")
        print(f"z={z:g}: " + ", ".join(line))


if __name__ == "__main__":
    main()
