import filecmp

import numpy as np
import pytest
from conftest import tiny_config

from privbench import ccc
from privbench.data.generate import face_identity, write_synthetic
from privbench.data.layout import AU_INTENSITY, AU_PRESENCE, Dataset
from privbench.data.synthetic import Person, generate, people
from privbench.progress import Progress


def signals(*assignments: str):
    cfg = tiny_config(*assignments)
    return [generate(cfg, i, p) for i, p in enumerate(people(cfg))]


def test_participants_have_demographics_and_balanced_gender():
    persons = people(tiny_config("participants=10"))
    assert sorted(p.gender for p in persons).count("F") == 5
    assert all(19 <= p.age <= 45 and p.language in ("French", "Italian", "German") for p in persons)


def test_generation_is_deterministic_by_seed():
    a, b = signals("participants=4"), signals("participants=4")
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.intensity, y.intensity)
        np.testing.assert_array_equal(x.ratings, y.ratings)
    assert not np.array_equal(a[0].intensity, signals("participants=4", "seed=1")[0].intensity)


def test_ratings_are_six_quantised_annotators_and_gold_is_their_mean():
    s = signals("participants=2")[0]
    assert s.ratings.shape[1] == 6
    assert np.allclose(s.ratings * 100, np.round(s.ratings * 100))
    assert np.abs(s.ratings).max() <= 1
    np.testing.assert_allclose(s.gold, s.ratings.mean(axis=1))
    assert s.ratings[:, 0, 0].tolist() != s.ratings[:, 1, 0].tolist()


def test_gold_tracks_latent_affect_but_not_perfectly():
    everyone = signals("participants=6")
    ceiling = np.mean([ccc(s.latent, s.gold) for s in everyone], axis=0)
    assert np.all(ceiling > 0.5) and np.all(ceiling < 0.99)


def test_smiles_follow_valence():
    """Within each person (people differ in baseline and in their session's mean mood)."""
    def within(au: str) -> float:
        return float(np.mean([np.corrcoef(x.latent[:, 0], x.expression[:, AU_INTENSITY.index(au)])[0, 1]
                              for x in signals("participants=4")]))

    assert within("AU12_r") > 0.5
    assert within("AU15_r") < -0.3


def test_au_ranges_follow_openface():
    s = signals("participants=2")[0]
    assert s.intensity.shape[1] == 17 and s.presence.shape[1] == 18
    assert s.intensity.min() >= 0 and s.intensity.max() <= 5
    assert set(np.unique(s.presence)) <= {0, 1}
    assert 0 < s.presence[:, AU_PRESENCE.index("AU28_c")].mean() < 0.5


def between_person_spread(assignments: tuple[str, ...]) -> float:
    """Spread of per-person mean AU intensities (identity signal) over within-person noise."""
    everyone = signals("participants=8", "seconds=600", *assignments)  # long: session moods average out
    means = np.stack([s.intensity.mean(0) for s in everyone])
    return float(means.std(0).mean())


def test_identity_knob_removes_person_specific_signal():
    strong = between_person_spread(("identity_strength=1", "demographic_strength=0"))
    none = between_person_spread(("identity_strength=0", "demographic_strength=0"))
    assert none < 0.5 * strong


def test_demographic_knob_removes_the_gender_difference():
    def gap(strength: str) -> float:
        # 25 min sessions: each person's mean mood (which differs by chance) averages out of the gap
        everyone = signals("participants=12", "seconds=1500", "identity_strength=0", f"demographic_strength={strength}")
        smile = {g: np.mean([s.intensity[:, AU_INTENSITY.index("AU12_r")].mean() for s in everyone
                             if s.person.gender == g]) for g in "FM"}
        return smile["F"] - smile["M"]

    assert gap("1") > 0.3
    assert abs(gap("0")) < 0.1


def test_written_dataset_is_byte_identical_for_the_same_seed(tmp_path):
    cfg = tiny_config("participants=3", "seconds=4")
    for name in ("a", "b"):
        write_synthetic(cfg, tmp_path / name, force=False, frames=True, progress=Progress(enabled=False))
    for pid in Dataset(tmp_path / "a").ids:
        for file in ("aus.csv", "ratings.csv", "frames.npy"):
            assert filecmp.cmp(tmp_path / "a" / pid / file, tmp_path / "b" / pid / file, shallow=False)


def test_frames_match_the_au_rows(tiny_dataset):
    data = Dataset(tiny_dataset)
    pid = data.ids[0]
    frames = data.frames(pid)
    assert isinstance(frames, np.memmap)
    assert frames.shape == (len(data.aus(pid)), 32, 32, 3)
    assert data.manifest.frame_size == 32


@pytest.mark.parametrize("gender_pair", [("F", "F"), ("F", "M")])
def test_identity_knobs_reach_the_faces(gender_pair):
    cfg = tiny_config("participants=2", "identity_strength=0", "demographic_strength=0")
    a, b = (Person(f"P{i}", g, 30, "French") for i, g in enumerate(gender_pair))
    assert face_identity(cfg, 0, a) == face_identity(cfg, 1, b)
    cfg = tiny_config("participants=2", "identity_strength=1", "demographic_strength=0")
    assert face_identity(cfg, 0, a) != face_identity(cfg, 1, b)
