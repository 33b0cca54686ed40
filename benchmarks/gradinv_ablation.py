"""What each part of privbench's inversion recipe is worth: PSNR and SSIM with one part changed at a time.

Usage: python benchmarks/gradinv_ablation.py --data DATASET [--model resnet18] [--frame-size 64]
       [--iterations 500] [--victims 2] [--init privbench]
Every variant attacks the same simulated FedSGD rounds (one frame per victim, known targets, the victim
model's random weights from seed 0); the table gives mean PSNR and SSIM (and the gallery's mean face's), and the
evaluations per second of the attack alone.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from privbench.attacks.faces.quality import image_quality, mean_face_quality
from privbench.attacks.gradinv.client_round import observe
from privbench.attacks.gradinv.inversions import INVERSIONS
from privbench.attacks.gradinv.threat import LocalSteps, PixelSpace
from privbench.attacks.gradinv.victim_models import VICTIM_MODELS, VictimSpec
from privbench.attacks.gradinv.victims import choose_victims, gallery, gallery_guard, to_uint8
from privbench.data.frame_transform import IMAGENET_MEAN, IMAGENET_STD
from privbench.data.layout import Dataset

VARIANTS = {
    "ig (the reference recipe)": ("ig", {}),
    "ig + grey canvas": ("ig", {"init": "grey", "grey": True}),
    "privbench": ("privbench", {}),
    "privbench without the feature term": ("privbench", {"features": 0.0}),
    "privbench without the grey canvas": ("privbench", {"init": "randn", "grey": False}),
    "privbench, cosine step schedule": ("privbench", {"schedule": "cosine"}),
    "privbench, layer-balanced cosine": ("privbench", {"balance": 0.5}),
    "privbench, tv 0.05": ("privbench", {"tv": 0.05}),
    "privbench, tv 0.5": ("privbench", {"tv": 0.5}),
    "privbench, balance 0.75, tv 0.5, lr 0.2, no features": ("privbench", {"balance": 0.75, "tv": 0.5, "lr": 0.2,
                                                                          "features": 0.0}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--frame-size", type=int, default=64)
    parser.add_argument("--init", default="privbench")
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--victims", type=int, default=2)
    parser.add_argument("--only", help="comma-separated variant names (default: all)")
    args = parser.parse_args()
    dataset = Dataset(args.data)
    clients, _ = choose_victims(dataset, victims=args.victims, batch=1, seq_len=0, frame_size=args.frame_size, seed=0)
    model = VICTIM_MODELS.get(args.model)(VictimSpec(model=args.model, frame_size=args.frame_size, init=args.init),
                                          seed=0)
    originals = np.concatenate([c.shown() for c in clients])
    grey = bool((originals[..., 0] == originals[..., 1]).all())
    pixels = PixelSpace(tuple(IMAGENET_MEAN / 255), tuple(IMAGENET_STD / 255), grey=grey)
    training = LocalSteps(steps=1, batch_size=1, lr=0.01, optimizer="sgd")
    views = [observe(model, c, training=training, pixels=pixels, known_targets=True) for c in clients]
    references, _ = gallery(dataset, clients, per_participant=20, guard=gallery_guard(dataset, 2.0),
                            frame_size=args.frame_size)
    mean_face = mean_face_quality(originals, references)
    print(f"{args.model} {args.frame_size} px, init {args.init}, {args.iterations} evaluations, {args.victims} "
          f"victims; the gallery's mean face: PSNR {mean_face.psnr.mean():.2f}, SSIM {mean_face.ssim.mean():.3f}")
    print(f"{'variant':<40} {'psnr':>6} {'ssim':>6} {'evals/s':>8}")
    chosen = set(args.only.split(",")) if args.only else set(VARIANTS)
    for name, (attack, options) in VARIANTS.items():
        if name not in chosen:
            continue
        start = time.perf_counter()
        shown = [to_uint8(INVERSIONS.get(attack)(view, iterations=args.iterations, restarts=1, seed=0,
                                                 **options).pixels) for view in views]
        rate = args.victims * args.iterations / (time.perf_counter() - start)
        quality = image_quality(np.concatenate(shown), originals)
        print(f"{name:<40} {quality.psnr.mean():>6.2f} {quality.ssim.mean():>6.3f} {rate:>8.1f}", flush=True)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
