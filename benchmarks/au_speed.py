"""Seconds per epoch and peak memory of the `au` method's RNN heads at default and paper sizes.

Each configuration runs in its own process (so peak RSS is its own): one epoch of the default
synthetic data's size is timed from a few real training batches (random inputs of the right
shape) and extrapolated to the epoch's window count. Usage: python benchmarks/au_speed.py [--batches N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

FRAMES_PER_PARTICIPANT = 7500  # default synthetic data: 300 s at 25 fps
TRAIN_PARTICIPANTS = 18  # 23 participants, 8 folds: ~20 train, 2 validation


def measure(rnn: str, profile: str, batches: int) -> dict:
    import torch

    from privbench.config import build, profile_values
    from privbench.data.windows import window_starts
    from privbench.evaluate.efficiency import peak_rss_mb
    from privbench.methods.au import AUConfig
    from privbench.models.heads import SequenceRegressor

    cfg = build(AUConfig, profile_values("au", profile, rnn), profile)
    model = SequenceRegressor(35, rnn, cfg.head.hidden, cfg.head.layers, cfg.head.fc_units, cfg.head.dropout)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.optim.lr)
    inputs, labels = torch.randn(cfg.optim.batch_size, cfg.windows.seq_len, 35), torch.randn(cfg.optim.batch_size, cfg.windows.seq_len, 2)
    times = []
    for i in range(batches + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(inputs), labels).backward()
        optimizer.step()
        if i:  # the first batch is warm-up
            times.append(time.perf_counter() - start)
    windows = TRAIN_PARTICIPANTS * len(window_starts(FRAMES_PER_PARTICIPANT, cfg.windows.seq_len, cfg.windows.stride))
    per_batch = sorted(times)[len(times) // 2]
    return {
        "rnn": rnn, "profile": profile, "seq_len": cfg.windows.seq_len, "hidden": cfg.head.hidden, "layers": cfg.head.layers,
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds_per_batch": round(per_batch, 4),
        "seconds_per_epoch": round(per_batch * -(-windows // cfg.optim.batch_size), 1),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--one", nargs=2, metavar=("RNN", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.batches)))
        return
    print(f"{'rnn':7} {'profile':8} {'seq':>5} {'hidden':>6} {'layers':>6} {'params':>10} "
          f"{'s/batch':>8} {'s/epoch':>8} {'peak MB':>8}")
    for profile in ("default", "paper"):
        for rnn in ("rnn", "bigru", "bilstm"):
            out = subprocess.run([sys.executable, __file__, "--one", rnn, profile, "--batches", str(args.batches)],
                                 capture_output=True, text=True, check=True).stdout
            r = json.loads(out)
            print(f"{r['rnn']:7} {r['profile']:8} {r['seq_len']:>5} {r['hidden']:>6} {r['layers']:>6} "
                  f"{r['parameters']:>10,} {r['seconds_per_batch']:>8} {r['seconds_per_epoch']:>8} {r['peak_rss_mb']:>8}")


if __name__ == "__main__":
    main()
