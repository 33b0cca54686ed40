"""Implausible AU values are refused where they enter (import-openface, data validate, the reader
that `run` and the attacks use), naming file, row, column and value; never clipped. OpenFace's ranges
are the default, with a 0.01 tolerance; a manifest may declare another extractor's ranges."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_config
from test_bad_input import assert_clean_failure
from test_import_openface import openface_csv
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.data.layout import AU_INTENSITY, AU_PRESENCE, Dataset
from privbench.data.validate import validate
from privbench.progress import Progress

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def data(tiny_dataset, tmp_path):
    return shutil.copytree(tiny_dataset, tmp_path / "copy")


def set_au(path, row, column, value):
    table = pd.read_csv(path)
    table[column] = table[column].astype(float)
    table.loc[row, column] = value
    table.to_csv(path, index=False)


@pytest.mark.parametrize("column, value, rule", [
    ("AU12_r", 1e30, "OpenFace intensities lie in [0, 5], within 0.01"),
    ("AU04_r", 5.2, "OpenFace intensities lie in [0, 5]"),
    ("AU01_r", -0.5, "OpenFace intensities lie in [0, 5]"),
    ("AU45_c", 0.5, "OpenFace presences are 0 or 1"),
    ("AU28_c", 2.0, "OpenFace presences are 0 or 1"),
])
def test_an_implausible_au_value_is_refused_by_validate_run_and_the_attacks(data, tmp_path, column, value, rule):
    set_au(data / "P03" / "aus.csv", 6, column, value)
    needle = f"P03/aus.csv: AU value out of range ({value:g}) (data row 7, column {column}: {rule}"
    assert_clean_failure(invoke("data", "validate", data), needle)
    run = invoke("run", "--profile", "quick", "--no-progress", "--folds", 2, "--data", data, "--out", tmp_path / "r")
    assert_clean_failure(run, needle, tmp_path / "r")
    attack = invoke("attack", "reid", "--profile", "quick", "--no-progress", "--data", data, "--out", tmp_path / "a")
    assert_clean_failure(attack, needle, tmp_path / "a")


def test_values_within_the_rounding_tolerance_pass_as_they_are(data):
    path = data / "P02" / "aus.csv"
    set_au(path, 3, "AU12_r", 5.004)
    set_au(path, 4, "AU12_r", -0.004)
    set_au(path, 5, "AU45_c", 0.999)
    validate(data)
    np.testing.assert_allclose(Dataset(data).aus("P02").loc[3:5, "AU12_r"].to_numpy()[:2], [5.004, -0.004])


def test_a_manifest_declares_another_extractors_range(data):
    for pid in Dataset(data).ids:  # presences as probabilities, intensities in [0, 1]
        table = pd.read_csv(data / pid / "aus.csv")
        table[AU_INTENSITY] = table[AU_INTENSITY] / 5
        table[AU_PRESENCE] = np.where(table[AU_PRESENCE] > 0, 0.7, 0.2)
        table.to_csv(data / pid / "aus.csv", index=False)
    manifest = json.loads((data / "manifest.json").read_text())
    assert_clean_failure(invoke("data", "validate", data), "OpenFace presences are 0 or 1")
    ranges = {"AU*_c": [0, 1], "AU*_r": [0, 1]}
    (data / "manifest.json").write_text(json.dumps({**manifest, "au_ranges": ranges}))
    assert validate(data).participants == 6
    set_au(data / "P01" / "aus.csv", 0, "AU06_r", 1.5)
    assert_clean_failure(invoke("data", "validate", data), "(data row 1, column AU06_r: manifest.json's au_ranges "
                                                           "'AU*_r' declares [0, 1], within 0.01)")


def test_a_malformed_au_ranges_entry_is_refused(data):
    manifest = json.loads((data / "manifest.json").read_text())
    (data / "manifest.json").write_text(json.dumps({**manifest, "au_ranges": {"AU*_r": [5, 0]}}))
    assert_clean_failure(invoke("data", "validate", data), "manifest.json: au_ranges must map column patterns")


@pytest.mark.parametrize("column, value, row", [("AU12_r", 1e30, 8), ("AU45_c", 0.5, 3), ("AU02_r", 7.0, 20)])
def test_import_openface_refuses_an_implausible_value_and_writes_nothing(tmp_path, column, value, row):
    openface_csv(tmp_path / "P1.csv")
    frame = openface_csv(tmp_path / "P2.csv", old=False, seed=1)
    frame.loc[row - 1, column] = value
    frame.to_csv(tmp_path / "P2.csv", index=False)
    out = tmp_path / "ds"
    result = invoke("data", "import-openface", tmp_path / "P1.csv", tmp_path / "P2.csv", "--out", out)
    assert_clean_failure(result, f"P2.csv: AU value out of range ({value:g}) (data row {row}, column {column}", out)


def test_import_names_the_files_row_when_other_faces_are_dropped(tmp_path):
    """Rows of a second face (face_id 1) are not imported, so not checked; the row named is the file's."""
    frame = openface_csv(tmp_path / "P1.csv", old=False)
    frame = pd.concat([frame, frame.assign(face_id=1)]).sort_values(["timestamp", "face_id"], kind="stable")
    frame.iloc[3, frame.columns.get_loc("AU12_r")] = 9.0  # data row 4: face 1 of the 2nd frame (dropped)
    frame.iloc[8, frame.columns.get_loc("AU12_r")] = 8.0  # data row 9: face 0 of the 5th frame
    frame.to_csv(tmp_path / "P1.csv", index=False)
    result = invoke("data", "import-openface", tmp_path / "P1.csv", "--out", tmp_path / "ds")
    assert_clean_failure(result, "AU value out of range (8) (data row 9, column AU12_r", tmp_path / "ds")


def test_the_synthetic_generator_stays_in_range_even_with_extreme_noise(tmp_path):
    cfg = tiny_config("participants=3", "seconds=8", "au_noise=25", "expression_noise=5")
    out = write_synthetic(cfg, tmp_path / "noisy", force=False, frames=False, progress=Progress(enabled=False))
    assert validate(out).participants == 3
    aus = pd.read_csv(out / "P01" / "aus.csv")
    assert aus[AU_INTENSITY].to_numpy().max() == 5.0 and set(np.unique(aus[AU_PRESENCE])) == {0, 1}
