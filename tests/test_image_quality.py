import math

import numpy as np
import pytest

from privbench.attacks.faces.quality import MAX_PSNR, image_quality, mean_face, mean_face_quality


def frames(n: int = 3, size: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(20, 236, (n, size, size, 3), dtype=np.uint8)


def textbook_psnr(mse: float) -> float:
    return 10 * math.log10(255**2 / mse)


def test_identical_frames_score_the_cap_and_ssim_one_never_nan():
    original = frames()
    quality = image_quality(original, original)
    assert np.all(quality.psnr == MAX_PSNR) and np.allclose(quality.ssim, 1.0)
    assert quality.means() == pytest.approx({"psnr": MAX_PSNR, "ssim": 1.0})
    constant = np.full((2, 16, 16, 3), 7, np.uint8)  # zero variance: SSIM's constants keep it finite
    assert np.isfinite(image_quality(constant, constant).ssim).all()


def test_psnr_of_a_known_error_is_the_textbook_value():
    original = frames()
    signs = np.random.default_rng(1).choice([-1, 1], original.shape)
    errors = np.array([4, 10, 20])[:, None, None, None]  # every value off by exactly this: MSE = error^2
    noisy = (original.astype(int) + signs * errors).astype(np.uint8)
    quality = image_quality(noisy, original)
    assert quality.psnr == pytest.approx([textbook_psnr(e**2) for e in (4, 10, 20)], abs=1e-3)
    assert quality.means()["psnr"] == pytest.approx(np.mean([textbook_psnr(e**2) for e in (4, 10, 20)]), abs=1e-3)
    assert 1 > quality.ssim[0] > quality.ssim[1] > quality.ssim[2] > 0


def test_float_frames_score_as_their_uint8_twins():
    original, other = frames(seed=0), frames(seed=1)
    as_uint8 = image_quality(other, original)
    as_float = image_quality(other.astype(np.float32), original.astype(float))
    assert np.allclose(as_uint8.psnr, as_float.psnr) and np.allclose(as_uint8.ssim, as_float.ssim)


def test_mean_face_baseline_scores_the_gallery_average_against_each_frame():
    gallery = np.stack([np.full((8, 8, 3), 40, np.uint8), np.full((8, 8, 3), 60, np.uint8)])
    assert np.all(mean_face(gallery) == 50)
    original = np.stack([np.full((8, 8, 3), 50, np.uint8), np.full((8, 8, 3), 60, np.uint8)])
    quality = mean_face_quality(original, gallery)
    assert quality.psnr == pytest.approx([MAX_PSNR, textbook_psnr(100)])


@pytest.mark.parametrize(("reconstructed", "original", "problem"), [
    (frames(size=32), frames(size=16), "differ in shape"),
    (frames(n=2), frames(n=3), "differ in shape"),
    (np.full((1, 8, 8, 3), np.nan), np.zeros((1, 8, 8, 3)), "non-finite"),
    (np.full((1, 8, 8, 3), 300.0), np.zeros((1, 8, 8, 3)), "outside 0..255"),
    (np.zeros((8, 8, 3)), np.zeros((8, 8, 3)), "[N, H, W, 3]"),
    (np.zeros((0, 8, 8, 3)), np.zeros((0, 8, 8, 3)), "non-empty"),
])
def test_bad_frames_are_refused_naming_the_problem(reconstructed, original, problem):
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace(".", r"\.")):
        image_quality(reconstructed, original)


def test_mean_face_of_a_gallery_of_another_size_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        mean_face_quality(frames(size=32), frames(size=16))
