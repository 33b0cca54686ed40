"""The central method: ResNet18 + RNN on frames, weights handling, frame store, end to end."""

import json
import tracemalloc
import urllib.request

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models import resnet18
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.frame_transform import IMAGENET_MEAN, IMAGENET_STD, FrameTransform
from privbench.data.frames import FrameSequence, FrameStore, FrameWindowDataset
from privbench.data.writer import open_frames_file
from privbench.errors import InputError
from privbench.experiment import resolve, run
from privbench.models.backbone import (
    BackboneConfig,
    build_backbone,
    cached_weights_path,
)
from privbench.models.frame_model import FrameSequenceModel

runner = CliRunner()
RAW = FrameTransform("imagenet", 0)


@pytest.fixture()
def empty_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(*args, **kwargs):
        raise AssertionError("privbench attempted a download")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    return tmp_path / "torch"


def test_model_gives_two_outputs_per_frame():
    backbone, _ = build_backbone(BackboneConfig("auto", "batch"))
    model = FrameSequenceModel.create(backbone, "bigru", hidden=8, layers=1).eval()
    frames = torch.randn(2, 5, 3, 32, 32)
    with torch.no_grad():
        out = model(frames)
    assert out.shape == (2, 5, 2)
    assert not torch.allclose(out[0, 0], out[0, 1])


def test_absent_weights_mean_random_init_and_no_download(empty_torch_home):
    assert str(cached_weights_path()).startswith(str(empty_torch_home))
    _, status = build_backbone(BackboneConfig("auto", "batch"))
    assert status.startswith("random initialisation") and "none downloaded" in status


def test_weights_from_a_given_path_are_loaded(tmp_path, empty_torch_home):
    reference = resnet18(weights=None)
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    model, status = build_backbone(BackboneConfig(str(path), "batch"))
    assert status == f"ImageNet weights from {path}"
    assert torch.equal(model.conv1.weight, reference.conv1.weight)
    grouped, status = build_backbone(BackboneConfig(str(path), "group"))
    assert "BatchNorm statistics dropped" in status
    assert not any(isinstance(m, nn.BatchNorm2d) for m in grouped.modules())


def test_missing_or_broken_weights_file_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="weights file not found"):
        build_backbone(BackboneConfig(str(tmp_path / "none.pth"), "batch"))
    (tmp_path / "bad.pth").write_text("not weights")
    with pytest.raises(InputError, match="not a readable torch weights file"):
        build_backbone(BackboneConfig(str(tmp_path / "bad.pth"), "batch"))


def test_frame_store_reads_rows_without_loading_the_file(tmp_path):
    frames = open_frames_file(tmp_path / "frames.npy", 400, 64, )
    frames[:] = np.random.default_rng(0).integers(0, 256, size=frames.shape, dtype=np.uint8)
    frames.flush()
    reference = np.load(tmp_path / "frames.npy")
    store = FrameStore(tmp_path / "frames.npy")
    rows = np.arange(10, 90, 5)
    tracemalloc.start()
    window = store.read(rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_array_equal(window, reference[rows])
    assert peak < 0.1 * reference.nbytes  # 16 rows read, not the 4.9 MB file


def test_frame_windows_follow_the_frame_step(tmp_path):
    frames = open_frames_file(tmp_path / "frames.npy", 100, 16)
    frames[:] = np.arange(100, dtype=np.uint8)[:, None, None, None]
    frames.flush()
    gold = np.stack([np.arange(100), -np.arange(100)], axis=1).astype(np.float32)
    seq = FrameSequence("P1", FrameStore(tmp_path / "frames.npy"), gold, step=10, transform=RAW)
    window, labels = FrameWindowDataset([seq], window=4, stride=2)[1]
    assert window.shape == (4, 3, 16, 16)
    expected = (np.array([20, 30, 40, 50]) - IMAGENET_MEAN[0]) / IMAGENET_STD[0]  # frames 20, 30, 40, 50
    np.testing.assert_allclose(window[:, 0, 0, 0].numpy(), expected, rtol=1e-5)
    assert labels[:, 0].tolist() == [20, 30, 40, 50]


def test_quick_run_with_eight_folds(tmp_path, empty_torch_home):
    out = tmp_path / "central"
    result = runner.invoke(app, ["run", "--method", "central", "--rnn", "bilstm", "--profile", "quick", "--folds", "8",
                                 "--no-progress", "--set", "data.participants=8", "--set", "data.seconds=16",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "backbone weights: random initialisation" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["ccc"]["valence"]["folds"]) == 8
    for key in ("train_seconds", "inference_seconds_per_100_frames", "inference_seconds_per_500_frames",
                "model_size_mb", "parameters", "peak_rss_mb"):
        assert metrics["efficiency"][key] > 0
    assert metrics["efficiency"]["parameters"] > 11_000_000  # ResNet18 without fc, plus the head
    record = json.loads((out / "run.json").read_text())
    assert record["notes"]["backbone_weights"].startswith("random initialisation")


def test_central_refuses_a_dataset_without_frames(tmp_path):
    from conftest import tiny_config

    from privbench.data.generate import write_synthetic
    from privbench.progress import Progress

    data = write_synthetic(tiny_config("participants=4", "seconds=8"), tmp_path / "au-only", force=False,
                           frames=False, progress=Progress(enabled=False))
    result = runner.invoke(app, ["run", "--method", "central", "--profile", "quick", "--folds", "2", "--no-progress",
                                 "--data", str(data), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "no frames.npy" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_central_learns_something_on_tiny_data(tmp_path):
    """6 participants x 20 s without identity, demographic or pose/lighting signal (so what the faces show is
    affect and expression noise), 2 folds, quick profile with more steps: the smallest setting found that
    beats the constant predictor's CCC at every seed tried. Mean CCC over folds and dimensions at seeds
    0, 1, 2: 0.08, 0.22, 0.25; with lr=1e-9 (untrained) 0.01. The plain quick profile does not learn on such
    short sessions (its mean CCC is about 0: between-person differences dominate 20 s recordings)."""
    data = ["data.participants=6", "data.seconds=20", "data.identity_strength=0", "data.demographic_strength=0",
            "data.frame_nuisance=0"]
    training = ["val_participants=0", "normalise=imagenet", "warmup_steps=40", "warmup_batch=16", "epochs=4",
                "windows_per_epoch=32", "backbone.weights=none"]
    metrics = run(resolve("central", "bigru", "quick", seed=1, folds=2, assignments=data + training),
                  tmp_path / "central").metrics
    model = np.mean([metrics["ccc"][dim]["mean"] for dim in ("valence", "arousal")])
    constant = np.mean([metrics["baseline"]["constant"]["ccc"][dim]["mean"] for dim in ("valence", "arousal")])
    assert model > constant + 0.05
