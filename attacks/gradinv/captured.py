"""``privbench attack gradinv --updates RUN_DIR``: invert the client updates a fedavg run captured, as they are.

The attacker's side: ``captured_updates`` gives each update as the server saw it. Person-normalised runs
subtract each client's own mean frame, which the server never sees: the attacker maps its reconstructions to
pixels with the mean frame and the mean residual spread of its gallery instead. The scorer's side: the frames
a client trained on are not recorded, so each reconstruction is scored against the client's frame (among
the frames the run used) nearest to it in PSNR, and the mean-face baseline against the same frames; the
gallery holds every participant's frames, the attacked clients' included (any of them may have been trained
on).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from privbench.attacks.faces.quality import image_quality
from privbench.attacks.gradinv.captured_updates import (
    CapturedRun,
    chosen_updates,
    load_run,
    observed_update,
    rebuild_model,
)
from privbench.attacks.gradinv.inversions import INVERSIONS
from privbench.attacks.gradinv.scoring import Scored, score
from privbench.attacks.gradinv.threat import PixelSpace, VictimTruth
from privbench.attacks.gradinv.victims import gallery, is_grey, resized, shown_frames, to_uint8, usable_rows
from privbench.data.frame_transform import IMAGENET_MEAN, IMAGENET_STD, frame_statistics
from privbench.data.layout import Dataset
from privbench.errors import InputError
from privbench.progress import Progress


def attack_captured(dataset: Dataset, config, *, run_dir: Path, seed: int, progress: Progress) -> tuple[Scored, dict]:
    """Invert up to ``victims`` captured updates of round ``updates_round``; score them; the threat model."""
    run = load_run(run_dir)
    updates = chosen_updates(run, round_=config.updates_round, victims=config.victims)
    for update in updates:
        if update.client_id not in dataset.ids or not dataset.has_frames(update.client_id):
            raise InputError(f"{dataset.root}: no frames of client {update.client_id} of {run.folder}: pass the "
                             "run's dataset with --data")
    side = run.input_size or int(dataset.frames(updates[0].client_id).shape[1])
    references, owners = gallery(dataset, [], per_participant=config.gallery_frames, guard=0, frame_size=side)
    pixels = attacker_pixels(run, references, owners)
    model = rebuild_model(run)
    task = progress.add(f"gradient inversion ({config.attack}, captured updates)", total=len(updates) * config.iterations)
    shown, views = [], []
    for update in updates:
        observed = observed_update(run, update, model, pixels, side)
        reconstruction = INVERSIONS.get(config.attack)(observed, iterations=config.iterations, restarts=config.restarts,
                                                       seed=seed, progress_callback=lambda _: progress.advance(task))
        shown.append(shown_frames(reconstruction.pixels))
        views.append(observed)
    progress.remove(task)
    truth = nearest_frames(dataset, run, [u.client_id for u in updates], shown, side)
    scored = score(truth, shown, [np.zeros((len(s), 2), np.float32) for s in shown], gallery_images=references,
                   gallery_owners=owners, reid=config.reidentification(), score_targets=False, seed=seed)
    first = updates[0].training
    threat = {"update": f"captured weight delta (round {config.updates_round}, "
                        f"{'frame warm-up' if first.get('warmup') else 'windows'})",
              "source": str(run.folder), "defence": run.defence, "model": "resnet18", "norm": run.train["backbone"]["norm"],
              "batchnorm": "train", "frame_size": side, "batch": views[0].examples,
              "local_steps": views[0].training.steps, "loss": views[0].training.loss,
              "normalise": run.normalise, "known_targets": False, "targets": "unknown to the attacker; not scored",
              "attack": config.attack, "iterations": config.iterations, "grey": pixels.grey,
              "parameters": sum(p.numel() for p in views[0].model.parameters()), "matcher": scored.matcher,
              "reid_smoothing": config.reid_smoothing, "victims": len(updates), "clients": [u.client_id for u in updates],
              "truth": "each reconstruction against the client's nearest used frame (the frames drawn are not "
                       "recorded)"}
    return scored, threat


def attacker_pixels(run: CapturedRun, references: np.ndarray, owners: np.ndarray) -> PixelSpace:
    """The run's normalisation as the attacker can apply it: ImageNet's statistics, or (person) the gallery's
    mean frame and its people's mean residual spread in place of the client's own."""
    grey = is_grey(references)
    if run.normalise != "person":
        return PixelSpace(tuple(IMAGENET_MEAN / 255), tuple(IMAGENET_STD / 255), grey=grey)
    spread = float(np.mean([frame_statistics(references[owners == o]).sd for o in np.unique(owners)])) / 255
    frame = torch.from_numpy(references.astype(np.float32).mean(0) / 255).permute(2, 0, 1).contiguous()
    channel_means = tuple(float(c) for c in frame.mean((1, 2)))
    return PixelSpace(channel_means, (spread,) * 3, grey=grey, frame=frame)


def nearest_frames(dataset: Dataset, run: CapturedRun, clients: list[str], shown: list[np.ndarray],
                   side: int) -> VictimTruth:
    """For each reconstruction, the client's used frame (every ``frame_step``-th with a face) nearest in PSNR."""
    frames, pids, rows = [], [], []
    for pid, images in zip(clients, shown):
        used = np.intersect1d(np.arange(0, len(dataset.frames(pid)), run.frame_step), usable_rows(dataset, pid))
        candidates = to_uint8(resized(np.asarray(dataset.frames(pid)[used]), side))
        for image in images:
            best = int(np.argmax(image_quality(np.repeat(image[None], len(candidates), 0), candidates).psnr))
            frames.append(candidates[best])
            pids.append(pid)
            rows.append(used[best])
    return VictimTruth(frames=np.stack(frames), participant_id=np.array(pids), frame_index=np.array(rows),
                       targets=np.zeros((len(frames), 2), np.float32))
