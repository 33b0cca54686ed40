"""The attack harness's shared parts: releases, window statistics, attack models."""

from __future__ import annotations

import re

import numpy as np
import pytest

from privbench.attacks.shared.features import feature_names, window_features, windows_of
from privbench.attacks.shared.models import MODELS, Released
from privbench.data.layout import AU_INTENSITY, Dataset
from privbench.errors import InputError
from privbench.release import TRANSFORMS
from privbench.release.build import build_release, release_settings
from privbench.release.predictions import read_predictions


def test_windows_are_views_in_order():
    values = np.arange(20, dtype=np.float32).reshape(10, 2)
    windows = windows_of(values, 4, 3)
    assert windows.shape == (3, 4, 2)
    assert windows[1, :, 0].tolist() == [6, 8, 10, 12]
    assert windows_of(values, 11, 1).shape == (0, 11, 2)


def test_window_statistics_by_hand():
    columns = ("AU01_r", "AU02_r", "AU45_c")
    t = np.arange(50, dtype=np.float32)
    window = np.stack([t, 2 * t + 1, (t % 10 < 3).astype(np.float32)], axis=1)[None]
    features = window_features(window, columns, fps=25.0)
    names = feature_names(columns)
    assert features.shape == (1, len(names))
    value = dict(zip(names, features[0]))
    assert value["mean(AU01_r)"] == pytest.approx(24.5) and value["q50(AU02_r)"] == pytest.approx(50.0)
    assert value["corr(AU01_r,AU02_r)"] == pytest.approx(1.0)
    assert value["blink_rate"] == pytest.approx(4 * 25 / 50)  # onsets at frames 10, 20, 30, 40
    constant = np.ones((1, 50, 3), np.float32)
    assert np.isfinite(window_features(constant, columns, 25.0)).all()


def test_releases_of_a_dataset(tiny_dataset):
    dataset = Dataset(tiny_dataset)

    def load(name: str):
        return build_release(dataset, release_settings(name))

    raw = load("raw")
    assert raw.columns == tuple(dataset.manifest.au_columns) and set(raw.series) == set(dataset.ids)
    assert load("intensities").columns == tuple(AU_INTENSITY)
    z = load("zscore").series["P01"]
    assert np.allclose(z.mean(0), 0, atol=1e-4)
    with pytest.raises(InputError, match="needs --from-run"):
        load("predictions")
    with pytest.raises(InputError, match="unknown release 'pixels'; valid: raw, intensities, zscore, noise, ldp"):
        load("pixels")
    assert list(TRANSFORMS) == ["raw", "intensities", "zscore", "noise", "ldp", "coarsen", "quantise", "privatiser",
                                "predictions", "run"]


@pytest.mark.parametrize("text, needle", [
    ("participant,fold,timestamp\nP01,0,0.0\n", "missing column(s) valence_predicted"),
    ("participant,fold,timestamp,valence_predicted,arousal_predicted,valence_gold,arousal_gold\n"
     "P01,0,0.0,nan,0.1,0.2,0.3\n", "non-finite"),
    ("participant,fold,timestamp,valence_predicted,arousal_predicted,valence_gold,arousal_gold\n", "no rows"),
])
def test_a_broken_predictions_file_is_named(tmp_path, text, needle):
    (tmp_path / "predictions.csv").write_text(text)
    with pytest.raises(InputError, match=re.escape(needle)):
        read_predictions(tmp_path / "predictions.csv")


@pytest.mark.parametrize("name", ["logreg", "gbm", "rnn"])
def test_every_attack_model_learns_a_separable_task_and_stays_at_chance_on_noise(name):
    rng = np.random.default_rng(0)
    released = Released(("AU01_r", "AU02_r"), 25.0)
    labels = np.repeat(np.arange(4), 40)
    signal = rng.normal(size=(160, 25, 2)) + labels[:, None, None] * 0.8
    for windows, check in ((signal, lambda a: a > 0.8), (rng.normal(size=(160, 25, 2)), lambda a: a < 0.5)):
        model = MODELS.get(name)(released, 0)
        inputs = model.represent(windows)
        model.fit(inputs[::2], labels[::2])
        accuracy = np.mean(model.classes[model.predict_proba(inputs[1::2]).argmax(1)] == labels[1::2])
        assert check(accuracy), accuracy  # chance is 0.25
