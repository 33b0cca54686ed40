"""Face-image folders (one sub-folder per identity, e.g. AT&T's ``s1/1.pgm``) -> a face gallery.

Every image Pillow reads is converted to RGB (grey-scale included) and cropped by MTCNN; where
no face is found the whole image is used instead (centre square, resized) and counted
(frames.csv face = 0). Rows are the identity's images in natural order; timestamps are their
index (an image gallery has no time) and ``file`` names the source image.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from privbench.data.importers.summary import ImportSummary
from privbench.data.importers.video import FaceCropper, FaceSettings, detection_runtime
from privbench.data.layout import IMAGE_FOLDER, Manifest
from privbench.data.writer import DatasetWriter
from privbench.errors import DatasetError, InputError
from privbench.progress import Progress


def natural_key(path: Path) -> list:
    """'10.pgm' sorts after '9.pgm'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def gallery(root: Path) -> dict[str, list[Path]]:
    """identity -> its image files (by extension Pillow knows); empty folders are errors."""
    if not root.is_dir():
        raise InputError(f"{root}: no such folder")
    suffixes = set(Image.registered_extensions())
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=natural_key)
    if not folders:
        raise InputError(f"{root}: no identity sub-folders (expected {root}/<identity>/<image>)")
    found = {f.name: sorted((p for p in f.iterdir() if p.is_file() and p.suffix.lower() in suffixes), key=natural_key)
             for f in folders}
    empty = [name for name, files in found.items() if not files]
    if empty:
        raise InputError(f"{root / empty[0]}: no images (any format Pillow reads)")
    return found


def load_rgb(path: Path) -> np.ndarray:
    """An image as RGB uint8 [H, W, 3]; an unreadable file is an error naming it."""
    try:
        with Image.open(path) as image:
            return np.array(image.convert("RGB"))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as err:
        raise DatasetError(f"{path}: unreadable image ({(str(err).splitlines() or [type(err).__name__])[0]})") from None


def whole_image(image: np.ndarray, size: int) -> np.ndarray:
    """The centre square of an image, resized to size x size."""
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(image[top:top + side, left:left + side])
    return np.asarray(square.resize((size, size), Image.Resampling.BILINEAR))


def identity_frames(files: list[Path], cropper: FaceCropper) -> tuple[np.ndarray, list[int]]:
    """An identity's crops [n, size, size, 3] and per image 1 (face found) or 0 (used whole)."""
    size = cropper.settings.size
    crops, faces = np.empty((len(files), size, size, 3), np.uint8), []
    for i, path in enumerate(files):
        image = load_rgb(path)
        crop = cropper.crop(image[None])[0]
        crops[i] = whole_image(image, size) if crop is None else crop
        faces.append(int(crop is not None))
    return crops, faces


def import_images(root: Path, out: Path, *, settings: FaceSettings = FaceSettings(), force: bool = False,
                  progress: Progress | None = None) -> ImportSummary:
    """Write a frames-only dataset: one participant per identity folder, one frame per image."""
    progress = progress or Progress(enabled=False)
    identities = gallery(root)
    cropper = FaceCropper(settings)
    summary = ImportSummary()
    manifest = Manifest(name=out.name, fps=1.0, au_columns=[], frame_size=settings.size,
                        source=f"{IMAGE_FOLDER} {root.name}, faces by MTCNN")
    task = progress.add("aligning faces", total=len(identities))
    with DatasetWriter(out, manifest, force=force) as writer, detection_runtime():
        for pid, files in identities.items():
            crops, faces = identity_frames(files, cropper)
            writer.add_participant({"participant_id": pid})
            with writer.frames_appender(pid, settings.size) as frames:
                frames.append(crops)
            writer.add_frame_index(pid, pd.DataFrame({"timestamp": np.arange(len(files), dtype=float),
                                                      "face": faces, "file": [f.name for f in files]}))
            summary.participants += 1
            summary.rows += len(files)
            summary.frames += len(files)
            summary.faces_not_found += faces.count(0)
            progress.advance(task)
        writer.manifest = dataclasses.replace(manifest, counts=summary.counts())
    progress.remove(task)
    return summary
