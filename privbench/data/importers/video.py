"""Face frames from videos: PyAV decoding, MTCNN detection, crops streamed into frames.npy.

Frames are decoded, detected and written ``batch`` at a time, so memory does not grow with the
video's length. MTCNN (facenet-pytorch; its weights ship in the wheel) finds the largest face;
the crop is MTCNN's own square box plus ``margin`` pixels, resized to ``size`` (no in-plane
rotation). Frames without a face are written black and masked (frames.csv face = 0).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import av
import numpy as np
import pandas as pd
import torch
from torch.nn.functional import interpolate

from privbench.data.importers.align import align_stream, check_rate, grid_step
from privbench.data.importers.metadata import read_metadata
from privbench.data.importers.participants import participant_ids
from privbench.data.importers.summary import ImportSummary
from privbench.data.layout import Manifest
from privbench.data.writer import DatasetWriter
from privbench.errors import ConfigError, DatasetError
from privbench.progress import Progress

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
Crop = np.ndarray | None


@dataclass(frozen=True)
class FaceSettings:
    """Face detection and cropping."""

    size: int = 64  # crops are size x size RGB
    margin: int = 8  # pixels of the crop added around MTCNN's box
    batch: int = 16  # frames decoded, detected and written together
    min_face: int = 20  # MTCNN min_face_size, in detection pixels
    detect_side: int = 480  # frames are detected on a copy at most this long (boxes scaled back)

    def __post_init__(self) -> None:
        if not 0 <= self.margin < self.size // 2:
            raise ConfigError(f"--margin must be in 0..{self.size // 2 - 1} for {self.size} px crops, got {self.margin}")


@contextmanager
def detection_runtime() -> Iterator[None]:
    """How MTCNN runs: its many small ops of varying shapes go on one thread (intra-op threads made
    them ~10x slower on two shared cores) and without oneDNN, whose primitive cache keeps growing
    with each new candidate-batch shape (peak RSS grew ~100 MB per 1,000 frames with it on)."""
    threads, onednn = torch.get_num_threads(), torch.backends.mkldnn.enabled
    torch.set_num_threads(1)
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.backends.mkldnn.enabled = onednn


class FaceCropper:
    """The largest face of each image, cropped and resized by MTCNN (None where there is none)."""

    def __init__(self, settings: FaceSettings) -> None:
        # imported here: a few seconds, paid only by commands that detect faces
        from facenet_pytorch import MTCNN
        from facenet_pytorch.models.utils.detect_face import extract_face

        self.settings = settings
        self._extract = extract_face
        self._mtcnn = MTCNN(image_size=settings.size, margin=settings.margin, min_face_size=settings.min_face,
                            post_process=False, device="cpu")

    def crop(self, images: np.ndarray) -> list[Crop]:
        """uint8 [B, H, W, 3] (same size) -> a uint8 [size, size, 3] crop or None per image."""
        batch = torch.from_numpy(np.ascontiguousarray(images))
        height, width = batch.shape[1:3]
        scale = min(1.0, self.settings.detect_side / max(height, width))
        if min(height, width) * scale < self.settings.min_face:
            return [None] * len(batch)  # smaller than the smallest face MTCNN looks for
        small = batch if scale == 1 else interpolate(
            batch.permute(0, 3, 1, 2).float(), size=(round(height * scale), round(width * scale)), mode="area",
        ).permute(0, 2, 3, 1)
        with torch.no_grad():
            boxes, _ = self._mtcnn.detect(small)
        return [self._crop_one(image, found, scale) for image, found in zip(batch, boxes)]

    def _crop_one(self, image: torch.Tensor, found, scale: float) -> Crop:
        if found is None:
            return None
        x0, y0, x1, y1 = np.asarray(found[0], float) / scale
        height, width = image.shape[:2]
        if min(x1, width) - max(x0, 0) < 2 or min(y1, height) - max(y0, 0) < 2:
            return None
        face = self._extract(image, [x0, y0, x1, y1], self.settings.size, self.settings.margin)
        return face.permute(1, 2, 0).clamp(0, 255).to(torch.uint8).numpy()


def decode(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    """(time in seconds, RGB uint8 [H, W, 3]) for every frame; unreadable input -> DatasetError."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as err:
        raise DatasetError(f"{path}: unreadable video ({_reason(err)})") from None
    with container:
        if not container.streams.video:
            raise DatasetError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        step = 1 / float(stream.average_rate or 25)
        last, count = -np.inf, 0
        try:
            for frame in container.decode(stream):
                time = frame.time if frame.time is not None and frame.time > last else last + step
                last, count = time, count + 1
                yield time, frame.to_ndarray(format="rgb24")
        except av.error.FFmpegError as err:
            raise DatasetError(f"{path}: video decoding failed after {count} frames ({_reason(err)})") from None
    if count == 0:
        raise DatasetError(f"{path}: no video frames")


def _reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or str(err).splitlines()[0]


def frame_count(path: Path) -> tuple[int, float]:
    """The container's (estimated frame count, frame rate) without decoding."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DatasetError(f"{path}: no video stream")
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 0)
            if stream.frames:
                return stream.frames, rate
            seconds = float(stream.duration * stream.time_base) if stream.duration else (container.duration or 0) / 1e6
            return round(seconds * rate), rate
    except (av.error.FFmpegError, OSError) as err:
        raise DatasetError(f"{path}: unreadable video ({_reason(err)})") from None


def face_crops(path: Path, cropper: FaceCropper) -> Iterator[tuple[float, Crop]]:
    """(time, crop or None) for every frame of the video, detected a batch at a time."""
    frames = decode(path)
    while chunk := list(itertools.islice(frames, cropper.settings.batch)):
        times, images = zip(*chunk)
        yield from zip(times, cropper.crop(np.stack(images)))


def write_faces(rows: Iterable[tuple[float, Crop]], writer: DatasetWriter, pid: str, size: int, batch: int,
                tick: Callable[[], None]) -> pd.DataFrame:
    """Stream (time, crop or None) rows into ``pid``'s frames.npy; returns its frame index."""
    times, faces = [], []
    buffer = np.zeros((batch, size, size, 3), np.uint8)
    filled = 0
    with writer.frames_appender(pid, size) as frames:
        for time, crop in rows:
            buffer[filled] = 0 if crop is None else crop
            times.append(time)
            faces.append(int(crop is not None))
            filled += 1
            if filled == batch:
                frames.append(buffer)
                filled = 0
            tick()
        frames.append(buffer[:filled])
    return pd.DataFrame({"timestamp": np.round(times, 6), "face": faces})


def video_frames(path: Path, writer: DatasetWriter, pid: str, cropper: FaceCropper, target: np.ndarray | None,
                 progress: Progress) -> pd.DataFrame:
    """Write ``pid``'s face frames from one video: one row per video frame, or (given a ``target``
    time grid) the frame nearest each grid time within half a step, masked where there is none."""
    estimate, _ = frame_count(path)
    task = progress.add(f"faces in {path.name}", total=len(target) if target is not None else max(estimate, 1))
    rows = face_crops(path, cropper)
    if target is not None:
        rows = zip(target, align_stream(rows, target, grid_step(target) / 2))
    with detection_runtime():
        index = write_faces(rows, writer, pid, cropper.settings.size, cropper.settings.batch,
                            lambda: progress.advance(task))
    progress.remove(task)
    writer.add_frame_index(pid, index)
    return index


def import_video(
    videos: list[Path], out: Path, *, participants: list[str] | None = None, metadata: Path | None = None,
    settings: FaceSettings = FaceSettings(), force: bool = False, progress: Progress | None = None,
) -> ImportSummary:
    """Write a frames-only dataset (frames.npy + frames.csv per participant) from videos."""
    progress = progress or Progress(enabled=False)
    ids = participant_ids(videos, participants, "--participant")
    meta = read_metadata(metadata, ids) if metadata else {}
    cropper = FaceCropper(settings)
    summary, fps = ImportSummary(), None
    manifest = Manifest(name=out.name, fps=0.0, au_columns=[], frame_size=settings.size,
                        source=f"videos ({len(videos)} files), faces by MTCNN")
    with DatasetWriter(out, manifest, force=force) as writer:
        for pid, path in zip(ids, videos):
            writer.add_participant({"participant_id": pid, **meta.get(pid, {})})
            index = video_frames(path, writer, pid, cropper, None, progress)
            fps = check_rate(index["timestamp"].to_numpy(), fps, path) if len(index) > 1 else fps or frame_count(path)[1]
            if not fps or not math.isfinite(fps) or fps <= 0:
                raise DatasetError(f"{path}: a single frame and no frame rate in the container; cannot place it in time")
            summary.participants += 1
            summary.rows += len(index)
            summary.frames += len(index)
            summary.faces_not_found += int((index["face"] == 0).sum())
        writer.manifest = dataclasses.replace(manifest, fps=fps, counts=summary.counts())
    return summary
