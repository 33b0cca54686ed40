import sys
from pathlib import Path

import numpy as np
import pytest

from privbench.attacks.faces import dlib_matcher, facenet_matcher
from privbench.attacks.faces.matchers import (
    MATCHERS,
    MatcherOptions,
    build_matcher,
    default_matcher,
    matcher_unavailable,
    reid_rate,
)
from privbench.data.layout import Dataset
from privbench.errors import InputError


def faces(dataset: Path, frames: slice) -> tuple[np.ndarray, np.ndarray]:
    """The ``frames`` of every participant of ``dataset`` and their identities."""
    data = Dataset(dataset)
    images = [np.asarray(data.frames(pid)[frames]) for pid in data.ids]
    return np.concatenate(images), np.repeat(data.ids, [len(x) for x in images])


@pytest.fixture(scope="module")
def gallery_and_probes(tiny_dataset: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A gallery from each person's first 16 s, probes held out from their last 3 s (never in the gallery)."""
    return faces(tiny_dataset, slice(0, 400, 8)), faces(tiny_dataset, slice(425, 500, 10))


def test_matchers_are_declared_strongest_first_and_the_default_is_the_first_available():
    assert MATCHERS.names() == ["dlib", "facenet", "gallery"]
    first = next(name for name in MATCHERS if matcher_unavailable(name) is None)
    assert default_matcher() == first
    assert matcher_unavailable("gallery") is None


def test_the_gallery_matcher_reidentifies_held_out_frames_and_not_noise(gallery_and_probes):
    (gallery, names), (probes, truth) = gallery_and_probes
    matcher = build_matcher("gallery").fit(gallery, names)
    assert list(matcher.identities_) == sorted(set(names))
    scores = matcher.scores(probes)
    assert scores.shape == (len(probes), 6) and np.isfinite(scores).all()
    rate, chance = reid_rate(scores, truth, matcher.identities_)
    assert chance == pytest.approx(1 / 6) and rate >= 0.8
    noise = np.random.default_rng(0).integers(0, 256, probes.shape, dtype=np.uint8)
    assert reid_rate(matcher.scores(noise), truth, matcher.identities_)[0] <= 0.4


def test_reid_rate_is_top_1_against_chance_and_refuses_unknown_identities():
    scores = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])  # the last row ties: a miss
    assert reid_rate(scores, np.array(["a", "c", "a"]), np.array(["a", "b", "c"])) == (pytest.approx(2 / 3), 1 / 3)
    with pytest.raises(ValueError, match="'z'"):
        reid_rate(scores, np.array(["a", "z", "a"]), np.array(["a", "b", "c"]))


def test_a_gallery_of_one_identity_or_of_floats_is_refused():
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 2 identities"):
        build_matcher("gallery").fit(frames, np.array(["a"] * 4))
    with pytest.raises(ValueError, match="uint8"):
        build_matcher("gallery").fit(frames.astype(float), np.array(["a", "b"] * 2))


def test_a_matcher_that_is_not_installed_is_an_input_error_naming_the_install(monkeypatch):
    monkeypatch.setattr(dlib_matcher, "model_folder", lambda: None)
    with pytest.raises(InputError, match=r"'dlib' is not installed: pip install 'privbench\[faces\]'"):
        build_matcher("dlib")
    assert default_matcher() != "dlib"


def test_facenet_without_weights_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    problem = matcher_unavailable("facenet")
    assert problem and str(tmp_path / "checkpoints" / facenet_matcher.CHECKPOINT) in problem
    with pytest.raises(InputError, match="never downloaded"):
        build_matcher("facenet")
    missing = tmp_path / "absent.pt"
    assert str(missing) in matcher_unavailable("facenet", MatcherOptions(facenet_weights=missing))


def test_facenet_loads_a_checkpoint_in_the_downloaded_format_and_scores(tmp_path, gallery_and_probes):
    torch = pytest.importorskip("torch")
    from facenet_pytorch import InceptionResnetV1

    torch.manual_seed(0)
    state = InceptionResnetV1(pretrained=None).state_dict()  # random weights: only the plumbing is tested
    state |= {"logits.weight": torch.zeros(3, 512), "logits.bias": torch.zeros(3)}  # the download has a head
    weights = tmp_path / facenet_matcher.CHECKPOINT
    torch.save(state, weights)
    (gallery, names), (probes, _) = gallery_and_probes
    matcher = build_matcher("facenet", MatcherOptions(facenet_weights=weights)).fit(gallery[:100:50], names[:100:50])
    scores = matcher.scores(probes[:2])  # ~0.2 s an image on 2 CPU cores: 2 people, 4 images
    assert scores.shape == (2, 2) and np.isfinite(scores).all() and (scores <= 0).all()


def test_facenet_refuses_a_file_that_is_not_its_weights(tmp_path):
    bad = tmp_path / "weights.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(InputError, match="not InceptionResnetV1 weights"):
        build_matcher("facenet", MatcherOptions(facenet_weights=bad))


needs_dlib = pytest.mark.skipif(bool(dlib_matcher.unavailable(MatcherOptions())),
                                reason=str(dlib_matcher.unavailable(MatcherOptions())))


@needs_dlib
def test_dlib_model_files_are_found_without_importing_their_package():
    folder = dlib_matcher.model_folder()
    assert (folder / dlib_matcher.RECOGNISER).is_file() and (folder / dlib_matcher.SHAPE_PREDICTOR).is_file()
    assert "face_recognition_models" not in sys.modules  # its __init__ needs pkg_resources


@needs_dlib
def test_dlib_describes_small_synthetic_frames_and_returns_finite_scores(gallery_and_probes):
    (gallery, names), (probes, truth) = gallery_and_probes
    matcher = build_matcher("dlib").fit(gallery[::17], names[::17])  # ~0.15 s an image on 2 CPU cores
    scores = matcher.scores(probes[::4])
    assert scores.shape == (len(probes[::4]), 6) and np.isfinite(scores).all() and (scores <= 0).all()
    rate, chance = reid_rate(scores, truth[::4], matcher.identities_)
    assert 0 <= rate <= 1 and chance == pytest.approx(1 / 6)
