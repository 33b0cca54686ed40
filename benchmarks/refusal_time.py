"""How fast bad input is refused, beside `privbench --help`, in one run: each command as its own
process (`python -m privbench ...`), median and slowest wall time over the repeats, largest peak RSS.

The refusals are of a bad setting value, an unknown key, a bad generator setting, a missing or
plain-file --data, an --out that cannot be created, for `run`, the attacks and `data synth`; each
must exit 2.
Before settings and paths were checked ahead of the heavy imports (commit 65814a2) these took 5.8-8.5 s
and 0.8-0.9 GB each; after, 0.2-0.3 s and 27 MB, as `--help` (2 CPU cores).
Usage: python benchmarks/refusal_time.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics

from cli_startup import measure

COMMANDS: tuple[tuple[tuple[str, ...], int], ...] = (
    (("--help",), 0),
    (("run", "--set", "lr=-1"), 2),
    (("run", "--method", "central", "--set", "epochs=0"), 2),
    (("run", "--set", "colour=blue"), 2),
    (("run", "--set", "data.participants=1"), 2),
    (("run", "--data", "/nonexistent/privbench"), 2),
    (("run", "--data", "/etc/hostname"), 2),
    (("run", "--out", "/proc/privbench-x"), 2),
    (("attack", "reid", "--data", "/nonexistent/privbench"), 2),
    (("attack", "gradinv", "--out", "/proc/privbench-x"), 2),
    (("data", "synth", "--set", "participants=1", "--out", "/proc/privbench-x"), 2),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'command':52} {'median s':>9} {'max s':>7} {'peak MB':>8}")
    for command, status in COMMANDS:
        runs = [measure(command, status) for _ in range(args.repeats)]
        seconds = [s for s, _ in runs]
        print(f"{'privbench ' + ' '.join(command):52} {statistics.median(seconds):>9.3f} {max(seconds):>7.3f} "
              f"{max(mb for _, mb in runs):>8.0f}")


if __name__ == "__main__":
    main()
