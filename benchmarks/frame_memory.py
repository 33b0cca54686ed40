"""Peak memory of `central` training on a frame store larger than RAM could hold as float tensors.

Writes a synthetic dataset whose frames.npy files total --gigabytes (default 4.2 GB of uint8 64 px
frames: 17 GB as float32), then trains the `central` method for one short fold on it with a
DataLoader worker, sampling the resident memory of the process and its workers every 0.2 s.
Usage: python benchmarks/frame_memory.py [--gigabytes 4.2] [--workdir /tmp/privbench-mem]
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from privbench.config import build, override, profile_values
from privbench.data.faces import render_frames
from privbench.data.generate import face_identity, write_synthetic
from privbench.data.layout import Dataset
from privbench.data.writer import open_frames_file
from privbench.data.synthetic import SyntheticConfig, generate, people, stream
from privbench.experiment import resolve, run
from privbench.progress import Progress

PARTICIPANTS = 6
TILE = 500  # distinct rendered frames per participant, repeated to fill the store (fast to write)


def peak_sampler(stop: threading.Event, peak: dict) -> None:
    """Peak RSS of this process, and of it plus its workers counted without shared pages (PSS)."""
    me = psutil.Process()
    while not stop.is_set():
        workers = me.children(recursive=True)
        try:
            pss = me.memory_full_info().pss + sum(w.memory_full_info().pss for w in workers)
            rss = me.memory_info().rss + sum(w.memory_info().rss for w in workers)
        except psutil.NoSuchProcess:  # a worker ended between listing and reading
            continue
        peak["main"] = max(peak.get("main", 0), me.memory_info().rss)
        peak["pss"] = max(peak.get("pss", 0), pss)
        peak["rss"] = max(peak.get("rss", 0), rss)
        time.sleep(0.2)


def write_big_dataset(root: Path, gigabytes: float) -> SyntheticConfig:
    frames = int(gigabytes * 1e9 / (64 * 64 * 3) / PARTICIPANTS)
    cfg = build(SyntheticConfig, profile_values("synthetic", "default"), "default")
    cfg = override(cfg, [f"participants={PARTICIPANTS}", f"seconds={frames / 25}"])
    write_synthetic(cfg, root, force=True, frames=False, progress=Progress(enabled=False))
    for index, person in enumerate(people(cfg)):
        tile = np.zeros((TILE, 64, 64, 3), np.uint8)
        render_frames(face_identity(cfg, index, person), generate(cfg, index, person).expression[:TILE], 64,
                      stream(cfg, index, "render"), tile)
        out = open_frames_file(root / person.participant_id / "frames.npy", cfg.frames, 64)
        for start in range(0, cfg.frames, TILE):
            out[start:start + TILE] = tile[: min(TILE, cfg.frames - start)]
        out.flush()
        del out
    return cfg


def store_arguments(description: str, workdir: Path) -> argparse.Namespace:
    """--gigabytes (the frame store's size) and --workdir (emptied now)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gigabytes", type=float, default=4.2)
    parser.add_argument("--workdir", type=Path, default=workdir)
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    return args


def main() -> None:
    args = store_arguments(__doc__, Path("/tmp/privbench-mem"))
    data = args.workdir / "data"
    start = time.perf_counter()
    write_big_dataset(data, args.gigabytes)
    dataset = Dataset(data)
    store_bytes = sum((data / p / "frames.npy").stat().st_size for p in dataset.ids)
    print(f"frame store: {store_bytes / 1e9:.2f} GB uint8 ({store_bytes * 4 / 1e9:.1f} GB as float32), "
          f"written in {time.perf_counter() - start:.0f} s")
    spec = resolve("central", "bigru", "default", folds=2, data=str(data), assignments=[
        "epochs=1", "windows_per_epoch=64", "warmup_steps=50", "val_participants=1", "frame_step=25",
        "num_workers=1"])
    stop, peak = threading.Event(), {}
    sampler = threading.Thread(target=peak_sampler, args=(stop, peak), daemon=True)
    sampler.start()
    start = time.perf_counter()
    outcome = run(spec, args.workdir / "result")
    stop.set()
    sampler.join()
    print(f"trained 2 folds in {time.perf_counter() - start:.0f} s; peak RSS of the main process "
          f"{peak['main'] / 1e9:.2f} GB; main + DataLoader worker: {peak['pss'] / 1e9:.2f} GB PSS "
          f"(shared pages counted once), {peak['rss'] / 1e9:.2f} GB summed RSS (shared pages counted twice); "
          f"metrics.json peak_rss_mb {outcome.metrics['efficiency']['peak_rss_mb']:.0f}")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
