"""Frames per second and peak memory of ``privbench data import-video``, and proof that memory
does not grow with the video's length.

Writes synthetic videos (a rendered face drifting over a plain scene, MPEG-4, 25 fps) of each
length, then imports each in its own process so that each peak RSS is its own. The import
streams: a batch of frames is decoded, detected and written at a time, so the peak should be
the same for every length; keeping the decoded frames would add SIZE^2 x 3 bytes per frame.
Usage: python benchmarks/import_video.py [--frames 500 1500] [--size 160] [--crop 64]
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


def write_video(path: Path, count: int, size: int) -> None:
    """``count`` frames at ``size`` px: a synthetic face (60 % of the frame) drifting over a plain scene."""
    import av

    from privbench.data.faces import render_frames, sample_identity

    rng = np.random.default_rng(0)
    face = int(size * 0.6) // 2 * 2
    identity = sample_identity(rng, "M", 35.0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt, stream.bit_rate = "yuv420p", 4_000_000
        for start in range(0, count, 250):
            n = min(250, count - start)
            faces = np.empty((n, face, face, 3), np.uint8)
            render_frames(identity, rng.uniform(0, 2, (n, 17)), face, rng, faces)
            for i, crop in enumerate(faces):
                frame = np.full((size, size, 3), (90, 100, 120), np.uint8)
                x = (size - face) // 2 + int(8 * np.sin((start + i) / 20))
                frame[size // 5:size // 5 + face, x:x + face] = crop
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())


def measure(video: Path, out: Path, crop: int) -> dict:
    """Import one video in this process; frames/s (after loading facenet-pytorch) and peak RSS."""
    start = time.perf_counter()
    import facenet_pytorch  # noqa: F401  (its import, a few seconds, is timed apart)

    from privbench.data.importers.video import FaceSettings, import_video
    from privbench.evaluate.efficiency import peak_rss_mb

    loading = time.perf_counter() - start
    before = peak_rss_mb()
    start = time.perf_counter()
    summary = import_video([video], out, settings=FaceSettings(size=crop))
    seconds = time.perf_counter() - start
    return {"frames": summary.frames, "faces_found": summary.frames - summary.faces_not_found,
            "load_seconds": round(loading, 1), "seconds": round(seconds, 1), "frames_per_second": round(summary.frames / seconds, 1),
            "peak_rss_mb_before_import": round(before), "peak_rss_mb": round(peak_rss_mb()),
            "frames_npy_mb": round((out / video.stem / "frames.npy").stat().st_size / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[500, 1500])
    parser.add_argument("--size", type=int, default=160, help="video frame size, px")
    parser.add_argument("--crop", type=int, default=64, help="face crop size, px")
    parser.add_argument("--one", nargs=2, metavar=("VIDEO", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(Path(args.one[0]), Path(args.one[1]), args.crop)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.frames:
            video = Path(tmp) / f"v{count}.mp4"
            write_video(video, count, args.size)
            child = subprocess.run([sys.executable, __file__, "--one", str(video), str(Path(tmp) / f"ds{count}"),
                                    "--crop", str(args.crop)], capture_output=True, text=True, check=True)
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(f"{args.size} px video, {args.crop} px crops, MTCNN on CPU ({len(rows)} runs, one process each)")
    print(f"{'frames':>7} {'faces':>6} {'load s':>7} {'import s':>9} {'frames/s':>9} {'RSS before':>11} "
          f"{'peak RSS':>9} {'frames.npy':>11}")
    for r in rows:
        print(f"{r['frames']:>7} {r['faces_found']:>6} {r['load_seconds']:>7} {r['seconds']:>9} {r['frames_per_second']:>9} "
              f"{r['peak_rss_mb_before_import']:>8} MB {r['peak_rss_mb']:>6} MB {r['frames_npy_mb']:>8} MB")
    first, last = rows[0], rows[-1]
    growth = last["peak_rss_mb"] - first["peak_rss_mb"]
    held = (last["frames"] - first["frames"]) * args.size ** 2 * 3 / 1e6
    print(f"peak RSS grows {growth:+} MB from {first['frames']} to {last['frames']} frames "
          f"(holding the decoded frames would add {held:.0f} MB)")


if __name__ == "__main__":
    main()
