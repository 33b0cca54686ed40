"""Inference and training speed of the `central` model (ResNet18 + RNN), beside a bare torchvision pass.

- overhead: privbench's inference over 100 frames (stored uint8 frames in: the default transform, i.e.
  person normalisation and resizing, included) against a bare torchvision ResNet18 + torch LSTM forward
  on the same network input shapes (float input), interleaved in one process;
- the paper's Table III (17.5 s for 100 images, 22.9 s for 500, on a GPU) against privbench here;
- training throughput: frames/s of full training steps (forward, backward, Adam) at the default config.

Usage: python benchmarks/central_speed.py [--device cpu|cuda] [--frame-size 64] [--repeats 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet18

from privbench.config import build, profile_values
from privbench.data.frame_transform import FrameTransform, frame_statistics
from privbench.methods.central import CentralConfig
from privbench.models.backbone import build_backbone
from privbench.models.frame_model import FrameSequenceModel

PAPER_SECONDS = {100: 17.5, 500: 22.9}


class BareModel(nn.Module):
    """torchvision ResNet18 (fc removed) + torch LSTM + linear: the reference forward pass."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.cnn = resnet18(weights=None)
        self.cnn.fc = nn.Identity()
        self.rnn = nn.LSTM(512, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        features, _ = self.rnn(self.cnn(x.flatten(0, 1)).view(b, t, -1))
        return self.out(features)


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


@torch.no_grad()
def inference(cfg: CentralConfig, device: torch.device, size: int, frames: int, repeats: int) -> dict:
    backbone, _ = build_backbone(cfg.frames.backbone)
    ours = FrameSequenceModel.create(backbone, "bilstm", cfg.head.hidden, cfg.head.layers).to(device).eval()
    bare = BareModel(cfg.head.hidden).to(device).eval()
    transform = FrameTransform(cfg.frames.normalise, cfg.frames.input_size)
    stored = np.random.default_rng(0).integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    statistics_ = frame_statistics(stored)
    side = transform.input_size(size)
    floats = torch.randn(1, frames, 3, side, side, device=device)

    def privbench() -> torch.Tensor:
        return ours(transform(stored, statistics_).to(device)[None])

    for _ in range(2):
        privbench(), bare(floats)
    times = {"privbench": [], "bare": []}
    for _ in range(repeats):
        times["privbench"].append(timed(privbench, device))
        times["bare"].append(timed(lambda: bare(floats), device))
    median = {k: statistics.median(v) for k, v in times.items()}
    return {"frames": frames, "stored_size": size, "network_input_size": side, "privbench_s": median["privbench"], "bare_s": median["bare"],
            "overhead": median["privbench"] / median["bare"],
            "paper_s": PAPER_SECONDS[frames], "speedup_vs_paper": PAPER_SECONDS[frames] / median["privbench"]}


def training(cfg: CentralConfig, device: torch.device, size: int, steps: int) -> dict:
    backbone, _ = build_backbone(cfg.frames.backbone)
    model = FrameSequenceModel.create(backbone, "bigru", cfg.head.hidden, cfg.head.layers).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    side = FrameTransform(cfg.frames.normalise, cfg.frames.input_size).input_size(size)
    frames = torch.randn(cfg.optim.batch_size, cfg.windows.seq_len, 3, side, side, device=device)
    labels = torch.randn(cfg.optim.batch_size, cfg.windows.seq_len, 2, device=device)

    def step() -> None:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(frames), labels).backward()
        optimizer.step()

    step()
    seconds = statistics.median(timed(step, device) for _ in range(steps))
    return {"batch_frames": cfg.optim.batch_size * cfg.windows.seq_len, "seconds_per_step": seconds,
            "train_frames_per_second": cfg.optim.batch_size * cfg.windows.seq_len / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--frame-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    cfg = build(CentralConfig, profile_values("central", "default"), "default")
    report = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "frame_size": args.frame_size,
        "inference": [inference(cfg, device, args.frame_size, n, args.repeats) for n in (100, 500)],
        "training": training(cfg, device, args.frame_size, args.steps),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
