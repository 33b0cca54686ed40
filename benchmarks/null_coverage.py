"""How often the AU attacks' 95% intervals hold chance when there is nothing to find.

Usage: python benchmarks/null_coverage.py [--datasets 20] [--participants 24] [--seconds 40] [--attacks reid]
Writes that many synthetic datasets with identity_strength=0 and demographic_strength=0 (seeds 0..N-1)
and runs `attack reid` and `attack demographics` (quick profile) on each. A calibrated 95% interval
misses chance on about 5% of null datasets, on either side; the table gives the miss rate per
headline number and the share of permutation p-values below 0.05.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

PRIVBENCH = [sys.executable, "-m", "privbench"]


def attack(name: str, data: Path, out: Path) -> dict:
    subprocess.run([*PRIVBENCH, "attack", name, "--profile", "quick", "--data", str(data), "--no-progress",
                    "--out", str(out)], check=True, capture_output=True)
    return json.loads((out / "metrics.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=20)
    parser.add_argument("--participants", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--attacks", default="reid,demographics")
    args = parser.parse_args()
    misses: dict[str, list[str]] = defaultdict(list)  # metric -> "low"/"high"/"" per dataset
    small_p: dict[str, int] = defaultdict(int)
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.datasets):
            data = Path(tmp) / f"null-{seed}"
            subprocess.run([*PRIVBENCH, "data", "synth", "--profile", "quick", "--no-frames", "--out", str(data),
                            "--set", f"participants={args.participants}", "--set", f"seconds={args.seconds}",
                            "--set", "identity_strength=0", "--set", "demographic_strength=0",
                            "--set", f"seed={seed}"], check=True, capture_output=True)
            for name in args.attacks.split(","):
                metrics = attack(name, data, Path(tmp) / f"{name}-{seed}")
                for key, (low, high) in metrics["ci95"].items():
                    if key == "top1" or key.endswith("balanced_accuracy"):
                        chance = metrics["baseline"][key]
                        misses[key].append("low" if high < chance else "high" if low > chance else "")
                for key, value in metrics["metrics"].items():
                    small_p[key] += key.endswith("_p_value") and value < 0.05
            print(f"dataset {seed + 1}/{args.datasets} done", file=sys.stderr, flush=True)
    print(f"{'metric':<36} {'datasets':>8} {'below':>6} {'above':>6} {'miss rate':>9}")
    for key, outcome in misses.items():
        low, high = outcome.count("low"), outcome.count("high")
        print(f"{key:<36} {len(outcome):>8} {low:>6} {high:>6} {(low + high) / len(outcome):>9.2f}")
    for key, count in small_p.items():
        if key.endswith("_p_value"):
            print(f"{key:<36} p < 0.05 on {count}/{args.datasets}")


if __name__ == "__main__":
    main()
