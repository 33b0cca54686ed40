"""``privbench attack gradinv``: settings, one simulated client round per victim, the attack, the scores."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from privbench.attacks.gradinv.captured import attack_captured
from privbench.attacks.gradinv.client_round import observe, observe_sum
from privbench.attacks.gradinv.defences import RoundFederation, client_mechanism, secure_record
from privbench.attacks.gradinv.inversions import INVERSIONS
from privbench.attacks.gradinv.outputs import plot_reconstructions, save_reconstructions
from privbench.attacks.gradinv.scoring import Reidentification, Scored, require_matcher, score
from privbench.attacks.gradinv.sweep import Point, plot_sweep, run_sweep, sweep_points
from privbench.attacks.gradinv.threat import LocalSteps, ObservedUpdate, PixelSpace, Reconstruction, VictimTruth
from privbench.attacks.gradinv.victim_models import VICTIM_MODELS, VictimSpec
from privbench.attacks.gradinv.victim_training import train_victim
from privbench.attacks.gradinv.victims import (
    ClientData,
    choose_victims,
    gallery,
    gallery_guard,
    is_grey,
    shown_frames,
)
from privbench.attacks.runner import AttackEntry, AttackOutcome
from privbench.config import require
from privbench.data.frame_transform import IMAGENET_MEAN, IMAGENET_STD
from privbench.data.layout import Dataset
from privbench.errors import InputError
from privbench.progress import Progress
from privbench.settings import DPSettings, SecAggSettings


@dataclass(frozen=True, kw_only=True)
class GradinvConfig:
    """Settings of the ``gradinv`` attack (configs/gradinv.yaml documents each key)."""

    attack: str
    model: str
    head: Literal["frame", "rnn"]
    norm: Literal["batch", "group"]
    batchnorm: Literal["eval", "train"]
    init: Literal["privbench", "torchvision"]
    trained_steps: int
    frame_size: int
    batch: int
    seq_len: int
    local_steps: int
    optimizer: Literal["sgd", "adam"]
    lr: float
    iterations: int
    restarts: int
    victims: int
    known_targets: bool
    matcher: str
    facenet_weights: str
    reid_smoothing: float
    gallery_frames: int
    gallery_guard_seconds: float
    sweep: str
    sweep_victims: int
    sweep_iterations: int
    updates_round: int
    federation: RoundFederation
    dp: DPSettings
    secagg: SecAggSettings

    def __post_init__(self) -> None:
        require(self.attack in INVERSIONS, f"unknown attack {self.attack!r}; valid: {', '.join(INVERSIONS)}")
        require(self.model in VICTIM_MODELS, f"unknown model {self.model!r}; valid: {', '.join(VICTIM_MODELS)}")
        require(min(self.batch, self.local_steps, self.iterations, self.restarts, self.victims,
                    self.gallery_frames) >= 1,
                "batch, local_steps, iterations, restarts, victims and gallery_frames must be at least 1")
        require(self.iterations >= self.restarts, f"iterations ({self.iterations}) must cover every restart "
                f"({self.restarts})")
        require(self.updates_round >= 1, f"updates_round counts rounds from 1 (got {self.updates_round})")
        require(self.trained_steps >= 0, f"trained_steps must be >= 0 (got {self.trained_steps})")
        require(self.lr > 0 and min(self.gallery_guard_seconds, self.reid_smoothing) >= 0,
                "lr must be positive, gallery_guard_seconds and reid_smoothing >= 0")
        require((self.head == "rnn") == (self.seq_len > 0), "head rnn reads windows: set seq_len >= 1 with it "
                "(and seq_len 0 with head frame)")
        require(min(self.sweep_victims, self.sweep_iterations) >= 1, "sweep_victims and sweep_iterations must be >= 1")
        require(not self.dp.enabled or self.dp.mode != "dpsgd", "dp.mode=dpsgd (DP-SGD inside each client) is not "
                "simulated on an attacked round; a simulated round takes dp.mode=server, client or local, and --updates "
                "RUN attacks what a dp.mode=dpsgd run captured")
        require(not (self.secagg.enabled and self.dp.enabled and self.dp.mode == "server"), "secure aggregation "
                "with dp.mode=server cannot work: the server clips each update, and under SecAgg+ it sees only "
                "their sum; use dp.mode=client or dp.mode=local")
        sweep_points(self)  # every point of the sweep is checked now, not after the main attack

    def victim_spec(self) -> VictimSpec:
        return VictimSpec(model=self.model, head=self.head, norm=self.norm, batchnorm=self.batchnorm,
                          frame_size=self.frame_size, init=self.init, batch_frames=self.batch * max(self.seq_len, 1))

    def reidentification(self) -> Reidentification:
        return Reidentification(matcher=self.matcher, facenet_weights=self.facenet_weights,
                                smoothing=self.reid_smoothing)

    def local_steps_sent(self) -> LocalSteps:
        return LocalSteps(steps=self.local_steps, batch_size=self.batch, lr=self.lr, optimizer=self.optimizer,
                          loss="mse")


def run_gradinv(dataset: Dataset, config: GradinvConfig, *, seed: int, from_run: Path | None,
                progress: Progress) -> AttackOutcome:
    """The configured attack on every victim, then the sweep (if any), each point a smaller attack. Every
    point's victims and gallery are drawn first: a dataset too small for the attack (or for every sweep point)
    fails before any attack, a sweep point it cannot hold is listed in ``threat_model.not_scored``.
    With ``from_run`` (``--updates``), the run's captured updates instead, and no sweep (sweeps simulate)."""
    require_matcher(config.matcher, config.facenet_weights)
    if from_run is not None:
        require(not config.dp.enabled and not config.secagg.enabled, "--updates attacks a run's captured updates "
                "as they are: its defences are the run's own (drop --dp-epsilon and --secure-aggregation)")
        scored, threat = attack_captured(dataset, config, run_dir=from_run, seed=seed, progress=progress)
        return outcome(scored, threat)
    victims_and_gallery(dataset, config, seed=seed)
    points, not_scored = drawable(dataset, sweep_points(config), seed=seed)
    scored, details = attack_once(dataset, config, seed=seed, progress=progress)
    result = outcome(scored, {**threat_model(scored, config, **details), "not_scored": not_scored})
    if points:
        table = run_sweep(points, lambda point: attack_once(dataset, point, seed=seed, progress=progress))
        result.tables["sweep.csv"] = table
        result.figures["sweep.png"] = partial(plot_sweep, table)
    return result


def drawable(dataset: Dataset, points: list[Point], *, seed: int) -> tuple[list[Point], dict[str, str]]:
    """The sweep points whose victims and gallery the dataset holds, and why each other one is not scored
    (``"sweep batch=10": reason``); a sweep of which no point can be drawn is an error."""
    kept, not_scored = [], {}
    for key, value, settings in points:
        try:
            victims_and_gallery(dataset, settings, seed=seed)
            kept.append((key, value, settings))
        except InputError as err:
            not_scored[f"sweep {key}={value}"] = str(err).removeprefix(f"{dataset.root}: ")
    if points and not kept:
        raise InputError(f"{dataset.root}: no point of the sweep can be scored: {next(iter(not_scored.values()))}")
    return kept, not_scored


def attack_once(dataset: Dataset, config: GradinvConfig, *, seed: int,
                progress: Progress) -> tuple[Scored, dict]:
    """Simulate each victim client's round, invert its update, score the reconstructions."""
    clients, target_source, references, owners = victims_and_gallery(dataset, config, seed=seed)
    model = VICTIM_MODELS.get(config.model)(config.victim_spec(), seed=seed)
    pixels = PixelSpace(tuple(IMAGENET_MEAN / 255), tuple(IMAGENET_STD / 255), grey=is_grey(references))
    if config.trained_steps:
        train_victim(model, dataset, steps=config.trained_steps, victims={c.participant for c in clients},
                     seq_len=config.seq_len, frame_size=config.frame_size, pixels=pixels, seed=seed)
    mechanism = client_mechanism(config.dp, config.federation.of(len(dataset.ids)), seed=seed)
    sent, known = config.local_steps_sent(), config.known_targets
    if config.secagg.enabled:
        observed = [observe_sum(model, clients, training=sent, pixels=pixels, known_targets=known,
                                mechanism=mechanism, secagg=config.secagg, seed=seed)]
        defence = secure_record(mechanism.record, config.secagg, len(clients))
    else:
        observed = [observe(model, client, training=sent, pixels=pixels, known_targets=known, mechanism=mechanism,
                            index=i) for i, client in enumerate(clients)]
        defence = mechanism.record
    task = progress.add(f"gradient inversion ({config.attack}, batch {config.batch})",
                        total=len(observed) * config.iterations)
    reconstructions = [INVERSIONS.get(config.attack)(view, iterations=config.iterations, restarts=config.restarts,
                                                     seed=seed, progress_callback=lambda _: progress.advance(task))
                       for view in observed]
    progress.remove(task)
    scored = score(truth(clients), shown(reconstructions, observed), recovered_targets(reconstructions),
                   gallery_images=references, gallery_owners=owners, reid=config.reidentification(),
                   score_targets=not config.known_targets, seed=seed)
    return scored, {"target_source": target_source, "pixels": pixels, "model": model, "defence": defence}


def victims_and_gallery(dataset: Dataset, config: GradinvConfig, *,
                        seed: int) -> tuple[list[ClientData], str, np.ndarray, np.ndarray]:
    """The victim clients, where their targets came from, and the gallery images with their owners."""
    victims = config.federation.of(len(dataset.ids)).secure_clients if config.secagg.enabled else config.victims
    if config.secagg.enabled and victims < config.secagg.reconstruction_threshold:
        raise InputError(f"a secure sum of {victims} clients is below secagg.reconstruction_threshold "
                         f"({config.secagg.reconstruction_threshold}): SecAgg+ cannot unmask it")
    clients, target_source = choose_victims(dataset, victims=victims, batch=config.batch,
                                            seq_len=config.seq_len, frame_size=config.frame_size, seed=seed)
    guard = gallery_guard(dataset, config.gallery_guard_seconds)
    references, owners = gallery(dataset, clients, per_participant=config.gallery_frames, guard=guard,
                                 frame_size=config.frame_size)
    return clients, target_source, references, owners


def truth(clients: list[ClientData]) -> VictimTruth:
    """The scorer's side of every victim example (a window stands for its middle frame)."""
    rows = [np.asarray(c.rows) if np.asarray(c.rows).ndim == 1 else np.asarray(c.rows)[:, c.rows.shape[1] // 2]
            for c in clients]
    return VictimTruth(frames=np.concatenate([c.shown() for c in clients]),
                       participant_id=np.concatenate([[c.participant] * len(r) for c, r in zip(clients, rows)]),
                       frame_index=np.concatenate(rows), targets=torch.cat([c.targets for c in clients]).numpy())


def shown(reconstructions: list[Reconstruction], observed: list[ObservedUpdate]) -> list[np.ndarray]:
    """Each observed update's reconstructed examples as uint8 frames (a window by its middle frame); under
    secure aggregation one update holds every example of the round's clients."""
    out = []
    for reconstruction, view in zip(reconstructions, observed):
        out.append(shown_frames(reconstruction.pixels))
        if len(out[-1]) != view.examples:
            raise RuntimeError(f"the attack returned {len(out[-1])} examples for an update of {view.examples}")
    return out


def recovered_targets(reconstructions: list[Reconstruction]) -> list[np.ndarray]:
    return [r.targets.detach().cpu().numpy() for r in reconstructions]


def threat_model(scored: Scored, config: GradinvConfig, *, target_source: str, pixels: PixelSpace,
                 model: torch.nn.Module, defence: dict) -> dict:
    """metrics.json's ``threat_model`` of a simulated round."""
    return {"update": "gradient (FedSGD)" if config.local_steps == 1 and config.optimizer == "sgd" else
            "weight delta (FedAvg)", "model": config.model, "head": config.head, "norm": config.norm,
            "batchnorm": config.batchnorm, "trained_steps": config.trained_steps,
            "frame_size": config.frame_size, "batch": config.batch,
            "local_steps": config.local_steps, "known_targets": config.known_targets, "targets": target_source,
            "attack": config.attack, "iterations": config.iterations, "grey": pixels.grey,
            "parameters": sum(p.numel() for p in model.parameters()), "matcher": scored.matcher,
            "reid_smoothing": config.reid_smoothing, "victims": len(scored.participant_id) // config.batch,
            "defence": defence}


def outcome(scored: Scored, threat: dict) -> AttackOutcome:
    """metrics.json, the per-example table, the picture and the arrays."""
    metrics = {"attack": "gradinv", "threat_model": threat, **scored.summary}
    rows = scored.per_example
    arrays = partial(save_reconstructions, reconstruction=scored.reconstruction, original=scored.original,
                     participant_id=scored.participant_id, frame_index=scored.frame_index)
    picture = partial(plot_reconstructions, reconstruction=scored.reconstruction, original=scored.original,
                      psnr=rows["psnr"].to_numpy(), labels=[f"{p}:{i}" for p, i in
                                                            zip(scored.participant_id, scored.frame_index)])
    return AttackOutcome(metrics=metrics, rows=rows,
                         figures={"reconstructions.png": picture, "reconstructions.npz": arrays})


GRADINV = AttackEntry(GradinvConfig, run_gradinv, reads="frames")
