"""The gradient-inversion reference case on face images imported with `privbench data import-images`.

Usage: python benchmarks/gradinv_reference.py [--images DIR] [--attacks privbench,ig] [--victims 8] [--keep DIR]
Without --images, synthetic faces (64 px, one folder per person, grey like the public reference's
faces) are exported as PNG files and imported first. Then, for each attack, the reference command
    privbench attack gradinv --data IMAGES_DATASET --set model=resnet18 --set frame_size=64 --set batch=1
      --set local_steps=1 --set iterations=2000 --set victims=8 --set known_targets=true
runs as its own process (without the default profile's sweep: ``--set sweep=``); the table gives PSNR, SSIM, re-identification (with the matcher used and
chance), the mean-face PSNR, wall seconds and objective evaluations per second.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

PRIVBENCH = [sys.executable, "-m", "privbench"]
REFERENCE = ["--set", "model=resnet18", "--set", "frame_size=64", "--set", "batch=1", "--set", "local_steps=1",
             "--set", "iterations=2000", "--set", "known_targets=true"]


def export_synthetic_faces(root: Path, *, people: int, per_person: int) -> Path:
    """Grey PNG faces of ``people`` synthetic participants, ``per_person`` frames each, a second apart."""
    from privbench.data.layout import Dataset

    data = root / "synthetic"
    subprocess.run([*PRIVBENCH, "data", "synth", "--out", str(data), "--set", f"participants={people}",
                    "--set", f"seconds={per_person + 1}", "--set", "frame_size=64"], check=True,
                   capture_output=True)
    dataset, folder = Dataset(data), root / "images"
    for pid in dataset.ids:
        frames = dataset.frames(pid)
        (folder / pid).mkdir(parents=True)
        step = max(1, round(dataset.manifest.fps))
        for i, row in enumerate(range(0, min(len(frames), per_person * step), step)):
            grey = np.asarray(frames[row], dtype=np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            Image.fromarray(grey.round().astype(np.uint8), mode="L").save(folder / pid / f"{i}.png")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, help="a face-image folder (one sub-folder per person)")
    parser.add_argument("--attacks", default="privbench,ig")
    parser.add_argument("--victims", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--keep", type=Path, help="keep the result folders here (the default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keep = args.keep or root
        images = args.images or export_synthetic_faces(root, people=max(args.victims, 10), per_person=30)
        dataset = root / "faces"
        subprocess.run([*PRIVBENCH, "data", "import-images", str(images), "--out", str(dataset), "--no-progress"],
                       check=True, capture_output=True)
        print(f"{'attack':<10} {'psnr':>6} {'ssim':>6} {'reid':>6} {'chance':>6} {'mean face':>9} "
              f"{'seconds':>8} {'evals/s':>8}  matcher")
        for attack in args.attacks.split(","):
            out = keep / f"run-{attack}"
            start = time.perf_counter()
            finished = subprocess.run([*PRIVBENCH, "attack", "gradinv", "--data", str(dataset), *REFERENCE, "--set",
                                       f"victims={args.victims}", "--set", f"iterations={args.iterations}", "--set",
                                       f"attack={attack}", "--set", "sweep=", "--no-progress", "--out", str(out)],
                                      capture_output=True, text=True)
            if finished.returncode:
                sys.exit(f"{attack}: privbench exited {finished.returncode}: {finished.stderr.strip()}")
            seconds = time.perf_counter() - start
            metrics = json.loads((out / "metrics.json").read_text())
            score, baseline = metrics["metrics"], metrics["baseline"]
            rate = args.victims * args.iterations / seconds
            print(f"{attack:<10} {score['psnr']:>6.2f} {score['ssim']:>6.3f} {score['reid_rate']:>6.3f} "
                  f"{baseline['reid_rate']:>6.3f} {baseline['psnr']:>9.2f} {seconds:>8.0f} {rate:>8.1f}  "
                  f"{metrics['threat_model']['matcher']}")


if __name__ == "__main__":
    main()
