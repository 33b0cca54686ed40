"""Who is attacked and who the reconstructions are matched against, drawn from a dataset's frames.

A victim is one client (one participant) holding ``batch`` examples: single frames, or windows of
``seq_len`` consecutive used frames. The gallery holds every participant's other frames, at least
``guard`` rows away from any victim frame (adjacent video frames are near copies; separate photos
need no guard), so a reconstruction is never matched against the frame it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional

from privbench.data.labels import gold_labels
from privbench.data.layout import Dataset
from privbench.errors import InputError


@dataclass(frozen=True)
class ClientData:
    """One victim client's examples: pixels in [0, 1] ([B, 3, S, S] frames or [B, T, 3, S, S]
    windows), targets ([B, 2] or [B, T, 2]), and the frame rows used ([B] or [B, T])."""

    participant: str
    pixels: torch.Tensor
    targets: torch.Tensor
    rows: np.ndarray

    def shown(self) -> np.ndarray:
        """The frame each example stands for (a window's middle frame): uint8 [B, S, S, 3]."""
        return shown_frames(self.pixels)


def shown_frames(pixels: torch.Tensor) -> np.ndarray:
    """The frame each example stands for (a window [N, T, 3, S, S] by its middle frame) as uint8 [N, S, S, 3]."""
    return to_uint8(pixels if pixels.dim() == 4 else pixels[:, pixels.shape[1] // 2])


def is_grey(images: np.ndarray) -> bool:
    """Whether every image has three equal channels (the client's preprocessing made them grey)."""
    return bool((images[..., 0] == images[..., 1]).all() and (images[..., 1] == images[..., 2]).all())


def to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """[N, 3, S, S] in [0, 1] -> uint8 [N, S, S, 3]."""
    return (pixels.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def resized(frames: np.ndarray, size: int) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, size, size] in [0, 1] (area averaging when shrinking)."""
    pixels = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255
    if pixels.shape[-1] == size and pixels.shape[-2] == size:
        return pixels.contiguous()
    mode = "area" if size < pixels.shape[-1] else "bilinear"
    return functional.interpolate(pixels, size=(size, size), mode=mode).clamp(0, 1)


def usable_rows(dataset: Dataset, pid: str) -> np.ndarray:
    """Rows of the participant's frames that hold a face: frames.csv ``face`` 1, or all of them. In an
    image gallery (``import-images``) ``face`` 0 marks a whole image used uncropped, not a masked frame."""
    count = len(dataset.frames(pid))
    masked = not dataset.manifest.separate_photos and dataset.has_frame_index(pid)
    if masked and "face" in dataset.frame_index(pid).columns:
        return np.flatnonzero(dataset.frame_index(pid)["face"].to_numpy()[:count] == 1)
    return np.arange(count)


def targets_of(dataset: Dataset, pid: str, rows: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Gold valence/arousal at ``rows`` where the dataset has ratings, else uniform in [-1, 1]; and which."""
    if dataset.has_ratings(pid):
        return gold_labels(dataset, pid, dataset.timestamps(pid))[rows].astype(np.float32), "gold ratings"
    return rng.uniform(-1, 1, (*rows.shape, 2)).astype(np.float32), "random in [-1, 1] (the dataset has no ratings)"


def choose_victims(dataset: Dataset, *, victims: int, batch: int, seq_len: int, frame_size: int,
                   seed: int, among: list[str] | None = None) -> tuple[list[ClientData], str]:
    """``victims`` clients from different participants (``among`` these; default: all), each with ``batch``
    examples spread over its session (``seq_len`` 0: single frames); and where the targets came from."""
    rng = np.random.default_rng(seed)
    length = max(seq_len, 1)
    people = [p for p in (dataset.ids if among is None else among)
              if dataset.has_frames(p) and len(usable_rows(dataset, p)) >= batch * length]
    if len(people) < victims:
        raise InputError(f"{dataset.root}: {victims} victims need {victims} participants with at least "
                         f"{batch * length} face frames each; {len(people)} have them (lower --set victims=...)")
    clients, source = [], ""
    for pid in sorted(rng.choice(people, victims, replace=False)):
        usable = usable_rows(dataset, pid)
        starts = np.sort(rng.choice(len(usable) - length + 1, batch, replace=False))
        rows = usable[starts[:, None] + np.arange(length)]  # [B, length]
        frames = np.asarray(dataset.frames(pid)[rows.ravel()])
        pixels = resized(frames, frame_size).view(batch, length, 3, frame_size, frame_size)
        targets, source = targets_of(dataset, pid, rows, rng)
        if not seq_len:
            pixels, targets, rows = pixels[:, 0], targets[:, 0], rows[:, 0]
        clients.append(ClientData(pid, pixels.contiguous(), torch.from_numpy(targets), rows))
    return clients, source


def gallery_guard(dataset: Dataset, seconds: float) -> int:
    """Rows a gallery frame keeps from every victim frame: ``seconds`` of video (adjacent frames are near
    copies); 0 for separate photos (``data import-images``), of which only the victim photos stay out."""
    return 0 if dataset.manifest.separate_photos else round(seconds * dataset.manifest.fps)


def gallery(dataset: Dataset, clients: list[ClientData], *, per_participant: int, guard: int,
            frame_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_participant`` frames of every participant, evenly spread, none within ``guard`` rows of
    a victim's frames: uint8 [G, S, S, 3] and the participant of each."""
    taken = {c.participant: np.asarray(c.rows).ravel() for c in clients}
    images, owners = [], []
    for pid in dataset.ids:
        if not dataset.has_frames(pid):
            continue
        rows = usable_rows(dataset, pid)
        if pid in taken:
            rows = rows[np.abs(rows[:, None] - taken[pid][None, :]).min(1) > guard]
        if not len(rows):
            continue
        chosen = rows[np.unique(np.linspace(0, len(rows) - 1, min(per_participant, len(rows))).round().astype(int))]
        images.append(to_uint8(resized(np.asarray(dataset.frames(pid)[chosen]), frame_size)))
        owners += [pid] * len(chosen)
    if len(set(owners)) < 2:
        raise InputError(f"{dataset.root}: re-identification needs gallery frames of at least 2 participants")
    missing = sorted(set(taken) - set(owners))
    if missing:
        near = f" (guard {guard} rows)" if guard else ""
        raise InputError(f"{dataset.root}: no gallery frames of {', '.join(missing)} outside the victim frames{near}: "
                         "re-identification needs other frames of each victim")
    return np.concatenate(images), np.array(owners)
