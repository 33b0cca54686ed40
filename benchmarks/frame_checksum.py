"""What the synthetic cache's frame checksums cost: hashing a frame store when it is recorded and when
a cache entry is checked before a frame-based run, from the page cache (warm) and from disk (cold:
the files' pages dropped with posix_fadvise first).

Writes the frame store of benchmarks/frame_memory.py (--gigabytes, default 4.2 GB of uint8 64 px
frames in 6 files) as a cache entry, then times ``_write_record`` (what generation adds) and
``entry_problem(frames=True)`` (what every use of the frames adds), and sets the check beside a
default `central` run (9 min 35 s on 2 CPU cores, docs/methods.md), whose own store is 2.1 GB.
Usage: python benchmarks/frame_checksum.py [--gigabytes 4.2] [--workdir /tmp/privbench-checksum]
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from frame_memory import store_arguments, write_big_dataset

from privbench.data.generate import _sha256, _write_record, entry_problem

CENTRAL_DEFAULT_SECONDS = 575.0  # docs/methods.md: `central`, default profile, 8 folds, 2 CPU cores
CENTRAL_DEFAULT_GB = 23 * 7500 * 64 * 64 * 3 / 1e9  # its frame store: 23 participants x 7,500 frames of 64 px


def drop_from_page_cache(paths: list[Path]) -> None:
    """Evict the files' pages, so that the next read comes from disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    args = store_arguments(__doc__, Path("/tmp/privbench-checksum"))
    root = args.workdir / "entry"
    start = time.perf_counter()
    write_big_dataset(root, args.gigabytes)
    frames = sorted(root.glob("*/frames.npy"))
    gigabytes = sum(p.stat().st_size for p in frames) / 1e9
    print(f"frame store: {gigabytes:.2f} GB in {len(frames)} files, written in {time.perf_counter() - start:.0f} s; "
          f"{os.cpu_count()} CPU cores")
    one = timed(lambda: _sha256(frames[0])) / (frames[0].stat().st_size / 1e9)
    print(f"sha256 of one file, one thread, warm: {1 / one:.2f} GB/s")
    record = timed(lambda: _write_record(root))
    print(f"record (hash every file at generation, warm): {record:.2f} s ({gigabytes / record:.2f} GB/s)")
    warm = min(timed(lambda: entry_problem(root, frames=True)) for _ in range(3))
    drop_from_page_cache(frames)
    cold = timed(lambda: entry_problem(root, frames=True))
    assert entry_problem(root, frames=True) is None
    print(f"check before a frame run: warm {warm:.2f} s ({gigabytes / warm:.2f} GB/s), cold {cold:.2f} s "
          f"({gigabytes / cold:.2f} GB/s)")
    for label, seconds in (("warm", warm), ("cold", cold)):
        scaled = seconds * CENTRAL_DEFAULT_GB / gigabytes
        print(f"  {label}: {seconds / CENTRAL_DEFAULT_SECONDS:.2%} of a default central run on this store; "
              f"on the default run's own {CENTRAL_DEFAULT_GB:.1f} GB store {scaled:.2f} s, "
              f"{scaled / CENTRAL_DEFAULT_SECONDS:.2%}")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
