"""Wall time and peak memory of the commands that should answer at once (help, list, an option error).

Each command runs as its own process (`python -m privbench ...`, what the `privbench` script runs);
the table gives the median and the slowest wall time over the repeats and the largest peak RSS
(os.wait4's rusage of that process alone). Usage: python benchmarks/cli_startup.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",), ("list",), ("list", "--format", "json"), ("run", "--format", "xml"),
)
EXPECTED_STATUS = {("run", "--format", "xml"): 2}  # an option error; the others succeed


def measure(args: tuple[str, ...], expected: int | None = None) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `python -m privbench ARGS`, which must exit ``expected``
    (default: EXPECTED_STATUS's, else 0)."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "privbench", *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != (EXPECTED_STATUS.get(args, 0) if expected is None else expected):
        raise SystemExit(f"privbench {' '.join(args)} exited {child.returncode}")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'command':32} {'median s':>9} {'max s':>7} {'peak MB':>8}")
    for command in COMMANDS:
        runs = [measure(command) for _ in range(args.repeats)]
        seconds = [s for s, _ in runs]
        print(f"{'privbench ' + ' '.join(command):32} {statistics.median(seconds):>9.3f} {max(seconds):>7.3f} "
              f"{max(mb for _, mb in runs):>8.0f}")


if __name__ == "__main__":
    main()
