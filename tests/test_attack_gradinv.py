"""``privbench attack gradinv``: a simulated FedSGD round leaks the client's face, the result folder
holds what it promises, the attacker never gets the truth, bad input is one line."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import tiny_config
from typer.testing import CliRunner

from privbench.attacks.gradinv.client_round import observe
from privbench.attacks.gradinv.inversions import INVERSIONS
from privbench.attacks.gradinv.scoring import smoothed
from privbench.attacks.gradinv.threat import LocalSteps, PixelSpace, VictimTruth
from privbench.attacks.gradinv.victim_models import VICTIM_MODELS, VictimSpec
from privbench.attacks.gradinv.victim_training import train_victim
from privbench.attacks.gradinv.victims import ClientData
from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.data.layout import Dataset
from privbench.errors import InputError
from privbench.progress import Progress
from privbench.results import load_result

runner = CliRunner()
QUICK = ["attack", "gradinv", "--profile", "quick", "--no-progress", "--set", "victims=3", "--set", "matcher=gallery"]


def attack(data: Path, out: Path, *extra: str) -> dict:
    result = runner.invoke(app, [*QUICK, "--data", str(data), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return load_result(out).metrics  # every folder an attack writes loads, checked


def test_fedsgd_on_one_frame_leaks_the_face(tiny_dataset, tmp_path):
    metrics = attack(tiny_dataset, tmp_path / "a", "--set", "iterations=200")
    assert metrics["metrics"]["psnr"] >= metrics["baseline"]["psnr"] + 3  # the quick target
    assert metrics["metrics"]["ssim"] > metrics["baseline"]["ssim"]
    assert metrics["threat_model"]["matcher"] == "gallery"
    assert metrics["baseline"]["reid_rate"] == pytest.approx(1 / 6)  # six people in the gallery
    arrays = np.load(tmp_path / "a" / "reconstructions.npz")
    assert arrays["reconstruction"].shape == arrays["original"].shape == (3, 32, 32, 3)
    assert arrays["reconstruction"].dtype == arrays["original"].dtype == np.uint8
    assert len(set(arrays["participant_id"])) == 3 and arrays["frame_index"].shape == (3,)
    assert (tmp_path / "a" / "reconstructions.png").stat().st_size > 0
    rows = pd.read_csv(tmp_path / "a" / "folds.csv")
    assert np.allclose(rows["psnr"].mean(), metrics["metrics"]["psnr"])


def test_unknown_targets_are_recovered_and_scored(tiny_dataset, tmp_path):
    metrics = attack(tiny_dataset, tmp_path / "a", "--set", "iterations=150", "--set", "known_targets=false")
    assert metrics["threat_model"]["known_targets"] is False
    assert 0 <= metrics["metrics"]["target_error"] < 1  # a uniform guess in [-1, 1] errs by 2/3 on average


def test_the_attacker_never_receives_the_truth():
    for name in INVERSIONS:
        parameters = inspect.signature(INVERSIONS.get(name)).parameters.values()
        assert all(VictimTruth.__name__ not in str(p.annotation) for p in parameters), name


def test_an_au_only_dataset_is_one_line(tmp_path):
    data = write_synthetic(tiny_config("participants=4", "seconds=10"), tmp_path / "d", force=False, frames=False,
                           progress=Progress(enabled=False))
    result = runner.invoke(app, [*QUICK, "--data", str(data), "--out", str(tmp_path / "a")])
    assert result.exit_code == 2 and "no face frames (frames.npy) to attack" in result.output, result.output
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("extra, needle", [
    (["--set", "frame_size=8"], "8"),
    (["--set", "victims=7"], "7 victims need 7 participants"),
    (["--set", "model=vgg"], "unknown model 'vgg'"),
    (["--set", "attack=magic"], "unknown attack 'magic'"),
    (["--set", "matcher=facenet", "--set", "facenet_weights=/nonexistent/vggface2.pt"], "/nonexistent/vggface2.pt"),
    (["--set", "head=rnn"], "seq_len"),
    (["--set", "sweep=batch=1,2", "--set", "sweep_victims=7"], "7 victims need 7 participants"),  # no point: at once
    (["--set", "sweep=colour=1,2"], "KEY one of"),
    (["--set", "reid_smoothing=-1"], "reid_smoothing"),
])
def test_bad_options_are_one_line(tiny_dataset, tmp_path, extra, needle):
    result = runner.invoke(app, [*QUICK, "--data", str(tiny_dataset), "--out", str(tmp_path / "a"), *extra])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "a").exists()


def test_reid_smoothing_removes_blocky_residue_and_scales_with_the_frame():
    rng = np.random.default_rng(0)
    face = np.kron(rng.integers(60, 200, (1, 8, 8, 1)), np.ones((1, 8, 8, 3))).astype(np.uint8)  # 64 px
    blocky = np.clip(face + rng.normal(0, 25, face.shape), 0, 255).astype(np.uint8)
    error = lambda images: np.abs(images.astype(float) - smoothed(face, 1.0)).mean()
    assert error(smoothed(blocky, 1.0)) < 0.5 * error(blocky)  # the residue goes, the face stays
    assert smoothed(blocky, 0.0) is blocky
    small, halved = face[:, ::2, ::2], smoothed(face, 1.0)[:, ::2, ::2].astype(float)  # the same face at 32 px
    gap = lambda smoothing: np.abs(smoothed(small, smoothing).astype(float) - halved).mean()
    assert gap(1.0) < gap(2.0)  # at 32 px the sd is 0.5 px, not the 1 px it is at 64 px


def test_a_sweep_tabulates_and_plots_each_point(tiny_dataset, tmp_path):
    attack(tiny_dataset, tmp_path / "a", "--set", "victims=2", "--set", "iterations=30", "--set",
           "sweep=trained_steps=0,20", "--set", "sweep_victims=2", "--set", "sweep_iterations=30")
    table = pd.read_csv(tmp_path / "a" / "sweep.csv")
    assert list(table["setting"]) == ["trained_steps", "trained_steps"] and list(table["value"]) == [0, 20]
    assert np.isfinite(table[["psnr", "ssim", "reid_rate", "mean_face_psnr"]].to_numpy()).all()
    assert (tmp_path / "a" / "sweep.png").stat().st_size > 0


def test_training_progress_trains_on_non_victims_only(tiny_dataset):
    dataset = Dataset(tiny_dataset)
    model = VICTIM_MODELS.get("cnn")(VictimSpec(model="cnn", frame_size=32), seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    pixels = PixelSpace((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    train_victim(model, dataset, steps=5, victims=set(dataset.ids[:4]), seq_len=0, frame_size=32, pixels=pixels,
                 seed=0)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    with pytest.raises(InputError, match="not victims"):
        train_victim(model, dataset, steps=5, victims=set(dataset.ids), seq_len=0, frame_size=32, pixels=pixels,
                     seed=0)


def test_a_fedsgd_round_of_the_recurrent_model_leaves_its_frame_readout_at_zero():
    # the sequence head never uses frame_head (the warm-up's readout): its gradient is zero, not an error
    model = VICTIM_MODELS.get("resnet18")(VictimSpec(model="resnet18", head="rnn", frame_size=32, batch_frames=2),
                                          seed=0)
    client = ClientData("P01", torch.rand(1, 2, 3, 32, 32), torch.rand(1, 2, 2) * 2 - 1, np.array([[3, 4]]))
    observed = observe(model, client, training=LocalSteps(steps=1, batch_size=1, lr=0.01, optimizer="sgd"),
                       pixels=PixelSpace((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)), known_targets=True)
    by_name = dict(zip([n for n, p in model.named_parameters() if p.requires_grad], observed.update))
    assert not by_name["frame_head.weight"].any() and by_name["backbone.conv1.weight"].abs().sum() > 0


@pytest.fixture(scope="module")
def photo_dataset(tmp_path_factory) -> Path:
    """10 people x 10 separate photos (32 px synthetic faces a second apart, saved as PNG), imported with
    ``data import-images``: a photo folder's frames are 1 s apart in the manifest, but no video."""
    from PIL import Image

    from privbench.data.importers.images import import_images
    from privbench.data.importers.video import FaceSettings

    root = tmp_path_factory.mktemp("photos")
    video = Dataset(write_synthetic(tiny_config("participants=10", "seconds=11"), root / "video", force=False,
                                    frames=True, progress=Progress(enabled=False)))
    step = round(video.manifest.fps)
    for pid in video.ids:
        (root / "images" / pid).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(np.asarray(video.frames(pid)[i * step])).save(root / "images" / pid / f"{i}.png")
    import_images(root / "images", root / "faces", settings=FaceSettings(size=32, margin=4))
    return root / "faces"


def test_every_point_of_the_default_attack_draws_a_gallery_from_a_photo_folder(photo_dataset):
    """The default settings (8 victims, the batch=1,2,4 sweep, a 2 s guard): nothing is left unscored."""
    from privbench.attacks.gradinv.run import GradinvConfig, drawable, victims_and_gallery
    from privbench.attacks.gradinv.sweep import sweep_points
    from privbench.attacks.runner import resolve

    config = resolve("gradinv", GradinvConfig, profile="default", seed=0, data=str(photo_dataset), from_run=None,
                     assignments=[]).settings
    dataset = Dataset(photo_dataset)
    clients, _, _, owners = victims_and_gallery(dataset, config, seed=0)
    assert len(clients) == 8 and {c.participant for c in clients} <= set(owners)
    points, not_scored = drawable(dataset, sweep_points(config), seed=0)
    assert [value for _, value, _ in points] == [1, 2, 4] and not_scored == {}


# The default profile's structure (victims of batch 1, a 2 s gallery guard, 20 gallery frames, a batch sweep of 2
# victims), made fast: a small model, 2 victims, few evaluations.
DEFAULT_FAST = ["attack", "gradinv", "--no-progress", "--set", "model=cnn", "--set", "frame_size=32", "--set",
                "victims=2", "--set", "iterations=2", "--set", "sweep_iterations=1", "--set", "matcher=gallery"]


def test_the_default_sweep_runs_on_a_photo_folder_and_a_point_it_cannot_hold_is_not_scored(photo_dataset, tmp_path):
    """Separate photos need no guard beyond the victim photos themselves: a 2 s guard at 1 fps left the default
    sweep's batch of 4 of 10 photos no gallery, and stopped the run. A batch of 10 leaves none either way: that
    point is listed as not scored."""
    result = runner.invoke(app, [*DEFAULT_FAST, "--data", str(photo_dataset), "--out", str(tmp_path / "a"),
                                 "--set", "sweep=batch=4,10"])
    assert result.exit_code == 0, result.output
    threat = load_result(tmp_path / "a").threat_model
    reason = threat["not_scored"].pop("sweep batch=10")
    assert threat["not_scored"] == {} and "no gallery frames of" in reason and str(photo_dataset) not in reason
    assert f"sweep batch=10: not scored, {reason}" in " ".join(result.output.split())
    assert list(pd.read_csv(tmp_path / "a" / "sweep.csv")["value"]) == [4]


def test_a_main_attack_the_data_cannot_hold_is_one_line(photo_dataset, tmp_path):
    result = runner.invoke(app, [*DEFAULT_FAST, "--data", str(photo_dataset), "--out", str(tmp_path / "a"),
                                 "--set", "batch=10"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "no gallery frames of" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists()
