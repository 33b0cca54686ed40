"""Wall time and peak memory of the AU attacks at paper scale (23 participants x 7,501 frames x 35 AU
columns) and of the quick profile: the targets are 2 minutes each on 2 CPU cores (30 s for quick reid).

Usage: python benchmarks/au_attacks.py [--skip-default]
Each attack runs as its own `privbench attack` process on an AU-only synthetic dataset written once
into a temporary folder; the table gives wall seconds, the process's peak RSS and the headline numbers.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PRIVBENCH = [sys.executable, "-m", "privbench"]


def timed(args: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([*PRIVBENCH, *args], check=True, capture_output=True, text=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.perf_counter() - start, max(peak, before) * 1024 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-default", action="store_true", help="only the quick profile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paper = root / "paper"  # 23 x 300 s at 25 fps = 7,501 frames each, as RECOLA
        subprocess.run([*PRIVBENCH, "data", "synth", "--no-frames", "--set", "seconds=300.04", "--out", str(paper)],
                       check=True, capture_output=True)
        cases = [("reid", "quick", "synthetic"), ("demographics", "quick", "synthetic")]
        if not args.skip_default:
            cases += [("reid", "default", str(paper)), ("demographics", "default", str(paper))]
        print(f"{'attack':<13} {'profile':<8} {'data':<10} {'seconds':>8} {'peak MB':>8}  headline")
        for attack, profile, data in cases:
            out = root / f"{attack}-{profile}"
            seconds, peak = timed(["attack", attack, "--profile", profile, "--data", data, "--no-progress",
                                   "--out", str(out)])
            metrics = json.loads((out / "metrics.json").read_text())["metrics"]
            headline = ", ".join(f"{k} {v:.3f}" for k, v in list(metrics.items())[:3])
            print(f"{attack:<13} {profile:<8} {Path(data).name:<10} {seconds:>8.1f} {peak:>8.0f}  {headline}")


if __name__ == "__main__":
    main()
