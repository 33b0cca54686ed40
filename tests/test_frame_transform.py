"""Frame transforms (person / ImageNet normalisation, resizing) and the frame warm-up."""

import numpy as np
import pytest
import torch

from privbench.data.frame_transform import (
    FrameTransform,
    frame_statistics,
    merge_statistics,
)
from privbench.data.frames import FrameSequence, FrameStore
from privbench.data.writer import open_frames_file
from privbench.models.backbone import BackboneConfig, build_backbone
from privbench.models.frame_model import FrameSequenceModel
from privbench.progress import Progress
from privbench.train.frame_pretrain import pretrain_frames


def frames(seed: int, count: int = 20, size: int = 16) -> np.ndarray:
    return np.random.default_rng(seed).integers(40, 200, (count, size, size, 3), dtype=np.uint8)


def test_person_normalisation_removes_who_it_is():
    face = frames(0)
    brighter = face + np.uint8(30)  # the same expressions on a different (brighter) face
    transform = FrameTransform("person", 8)
    a, b = transform(face, frame_statistics(face)), transform(brighter, frame_statistics(brighter))
    assert a.shape == (20, 3, 8, 8)
    torch.testing.assert_close(a, b)
    assert abs(float(a.mean())) < 1e-5 and float(a.std()) > 0.1


def test_imagenet_normalisation_keeps_appearance():
    face = frames(0)
    transform = FrameTransform("imagenet", 0)
    assert transform(face).shape == (20, 3, 16, 16)
    assert not torch.allclose(transform(face), transform(face + np.uint8(30)))
    with pytest.raises(ValueError, match="statistics"):
        FrameTransform("person")(face)


def test_statistics_merge_like_one_pass():
    face = frames(1, count=30)
    whole = frame_statistics(face)
    merged = merge_statistics([(10, frame_statistics(face[:10])), (20, frame_statistics(face[10:]))])
    np.testing.assert_allclose(merged.mean, whole.mean, atol=1e-4)
    assert merged.sd == pytest.approx(whole.sd, rel=1e-5)


def brightness_sequence(root, pid: str, seed: int) -> FrameSequence:
    """Frames whose brightness in the top half is the label: a signal a backbone can learn."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(-1, 1, 200).astype(np.float32)
    store = open_frames_file(root / f"{pid}.npy", 200, 16)
    store[:] = rng.integers(60, 120, store.shape, dtype=np.uint8)
    store[:, :8] += (40 + 40 * level)[:, None, None, None].astype(np.uint8)
    store.flush()
    gold = np.stack([level, -level], axis=1)
    return FrameSequence(pid, FrameStore(root / f"{pid}.npy"), gold, step=1, transform=FrameTransform("person", 16))


def test_frame_warmup_learns_a_per_frame_signal(tmp_path):
    torch.manual_seed(0)
    sequences = [brightness_sequence(tmp_path, f"P{i}", i) for i in range(3)]
    backbone, _ = build_backbone(BackboneConfig("auto", "batch"))
    model = FrameSequenceModel.create(backbone, "rnn", hidden=4, layers=1)
    losses = pretrain_frames(model, sequences, steps=40, batch_size=16, lr=2e-3, loss_name="ccc", seed=0,
                             device=torch.device("cpu"), progress=Progress(enabled=False))
    assert len(losses) == 40
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])  # 1 - CCC: from about 1 towards 0
