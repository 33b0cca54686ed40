import numpy as np
import pytest

from privbench.data.faces import render_frames, sample_identity
from privbench.data.layout import AU_INTENSITY

SIZE = 48


def aus(frames: int = 8, **intensity: float) -> np.ndarray:
    """[frames, 17] AU intensities, zero but for the named ones (e.g. AU12=5)."""
    table = np.zeros((frames, len(AU_INTENSITY)), np.float32)
    for name, value in intensity.items():
        table[:, AU_INTENSITY.index(f"{name}_r")] = value
    return table


def render(identity, au: np.ndarray, seed: int = 0, size: int = SIZE) -> np.ndarray:
    out = np.zeros((len(au), size, size, 3), np.uint8)
    render_frames(identity, au, size, np.random.default_rng(seed), out)
    return out


def person(seed: int, gender: str = "F", age: float = 30, **strengths: float):
    return sample_identity(np.random.default_rng(seed), gender, age, **strengths)


def region_change(a: np.ndarray, b: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]) -> float:
    """Mean absolute difference between two renders inside a box given as fractions of the crop."""
    size = a.shape[1]
    box = (slice(None), slice(int(rows[0] * size), int(rows[1] * size)), slice(int(cols[0] * size), int(cols[1] * size)))
    return float(np.abs(a[box].astype(float) - b[box].astype(float)).mean())


MOUTH, FOREHEAD, EYES = ((0.64, 0.8), (0.35, 0.65)), ((0.18, 0.32), (0.3, 0.7)), ((0.38, 0.52), (0.2, 0.8))


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shape_dtype_and_determinism(size):
    au = np.random.default_rng(1).uniform(0, 5, (6, len(AU_INTENSITY)))
    first, again = render(person(1), au, seed=7, size=size), render(person(1), au, seed=7, size=size)
    assert first.shape == (6, size, size, 3) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, render(person(1), au, seed=8, size=size))
    assert first.std() > 20  # a face on a background, not a flat image


def test_people_differ_more_than_frames_of_one_person():
    au = np.random.default_rng(2).uniform(0, 3, (32, len(AU_INTENSITY)))
    halves = []
    for seed, gender in enumerate("FMFM"):
        frames = render(person(seed, gender), au, seed=seed).astype(float)
        halves.append((frames[:16].mean(0), frames[16:].mean(0)))
    within = np.mean([np.abs(a - b).mean() for a, b in halves])
    between = np.mean([np.abs(halves[i][0] - halves[j][1]).mean() for i in range(4) for j in range(4) if i != j])
    assert between > 2 * within


def test_null_strengths_give_everyone_the_same_face():
    one = person(1, "F", 20, identity_strength=0, demographic_strength=0)
    other = person(2, "M", 60, identity_strength=0, demographic_strength=0)
    assert one == other
    au = aus(4, AU12=3, AU45=1)
    assert np.array_equal(render(one, au, seed=3), render(other, au, seed=3))
    assert person(1) != person(2)


def test_demographics_alone_separate_groups_not_people():
    def group(seed, gender):
        return person(seed, gender, 30, identity_strength=0)

    assert group(1, "F") == group(2, "F")
    assert group(1, "F") != group(1, "M")


def test_strengths_do_not_shift_the_random_stream():
    full, null = np.random.default_rng(5), np.random.default_rng(5)
    sample_identity(full, "F", 30)
    sample_identity(null, "F", 30, identity_strength=0, demographic_strength=0)
    assert full.random() == null.random()


@pytest.mark.parametrize("size", [32, 64])
def test_smile_versus_frown_changes_the_mouth_not_the_forehead(size):
    smile, frown = render(person(3), aus(AU12=5), size=size), render(person(3), aus(AU15=5), size=size)
    mouth, forehead = region_change(smile, frown, *MOUTH), region_change(smile, frown, *FOREHEAD)
    assert mouth > 3
    assert mouth > 5 * forehead


@pytest.mark.parametrize("size", [32, 64])
def test_blink_changes_the_eyes(size):
    open_, shut = render(person(4), aus(AU45=0), size=size), render(person(4), aus(AU45=5), size=size)
    eyes, mouth = region_change(open_, shut, *EYES), region_change(open_, shut, *MOUTH)
    assert eyes > 3
    assert eyes > 5 * mouth


def test_writes_into_a_memmap(tmp_path):
    au = aus(7, AU25=2, AU26=3)
    frames = np.lib.format.open_memmap(tmp_path / "frames.npy", mode="w+", dtype=np.uint8, shape=(7, SIZE, SIZE, 3))
    render_frames(person(5), au, SIZE, np.random.default_rng(9), frames, batch=3)
    frames.flush()
    expected = np.zeros_like(np.asarray(frames))
    render_frames(person(5), au, SIZE, np.random.default_rng(9), expected, batch=3)
    assert np.array_equal(np.load(tmp_path / "frames.npy"), expected)
    assert expected.std() > 20


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        render_frames(person(1), aus(4)[:, :16], SIZE, np.random.default_rng(0), np.zeros((4, SIZE, SIZE, 3), np.uint8))
    with pytest.raises(ValueError):
        render_frames(person(1), aus(4), SIZE, np.random.default_rng(0), np.zeros((5, SIZE, SIZE, 3), np.uint8))
