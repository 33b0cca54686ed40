"""Wall time of `privbench bench` on one matrix: --jobs 1, --jobs N (worker processes) and --ray local
(a new local Ray instance with N CPUs), each into a fresh store; then a rerun with every job complete
and `privbench report` on the store. One untimed warm-up fills the synthetic-data cache first.

    python benchmarks/bench_scaling.py [--config quick] [--jobs 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "privbench", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="quick")
    parser.add_argument("--jobs", type=int, default=2)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        timed("bench", options.config, "--out", str(root / "warmup"), "--no-progress")
        modes = {"--jobs 1": ["--jobs", "1"], f"--jobs {options.jobs}": ["--jobs", str(options.jobs)],
                 f"--ray local ({options.jobs} CPUs)": ["--ray", "local", "--jobs", str(options.jobs)]}
        walls = {}
        for name, flags in modes.items():
            store = root / name.split()[0].strip("-") / name.split()[1]
            walls[name] = timed("bench", options.config, "--out", str(store), "--no-progress", *flags)
            print(f"{name:28s} {walls[name]:7.1f} s", flush=True)
        rerun = timed("bench", options.config, "--out", str(root / "jobs" / "1"), "--no-progress")
        report = timed("report", str(root / "jobs" / "1"))
    first, parallel, ray = walls.values()
    print(f"{'rerun, all complete':28s} {rerun:7.1f} s")
    print(f"{'report':28s} {report:7.1f} s")
    print(f"--jobs {options.jobs} / --jobs 1: {parallel / first:.2f}; --ray / --jobs {options.jobs}: {ray / parallel:.2f}")


if __name__ == "__main__":
    main()
