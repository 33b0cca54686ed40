"""PSNR and re-identification against the attack's budget (objective evaluations): where it plateaus.

Usage: python benchmarks/gradinv_budget.py --data DATASET [--budgets 250,500,1000,2000] [--victims 2]
       [--set KEY=VALUE ...]
Each budget is its own run of `privbench attack gradinv` (the step-size schedule spans the whole budget), on
the same victims; the table gives PSNR, SSIM, re-identification, wall seconds and evaluations per second.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--budgets", default="250,500,1000,2000")
    parser.add_argument("--victims", type=int, default=2)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--set", dest="assignments", action="append", default=[])
    args = parser.parse_args()
    extra = [item for assignment in args.assignments for item in ("--set", assignment)]
    print(f"{'budget':>7} {'psnr':>6} {'ssim':>6} {'reid':>5} {'mean face':>9} {'seconds':>8} {'evals/s':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for budget in map(int, args.budgets.split(",")):
            start = time.perf_counter()
            finished = subprocess.run([sys.executable, "-m", "privbench", "attack", "gradinv", "--data", args.data,
                                       "--profile", args.profile, "--set", f"iterations={budget}", "--set",
                                       f"victims={args.victims}", "--set", "sweep=", *extra, "--no-progress",
                                       "--format", "json", "--out", str(Path(tmp) / str(budget))],
                                      capture_output=True, text=True)
            if finished.returncode:
                sys.exit(f"budget {budget}: privbench exited {finished.returncode}: {finished.stderr.strip()}")
            seconds = time.perf_counter() - start
            metrics = json.loads(finished.stdout)
            score, baseline = metrics["metrics"], metrics["baseline"]
            print(f"{budget:>7} {score['psnr']:>6.2f} {score['ssim']:>6.3f} {score['reid_rate']:>5.2f} "
                  f"{baseline['psnr']:>9.2f} {seconds:>8.0f} {args.victims * budget / seconds:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
