"""import-recola: both layouts, "FM1 " headers, mean / EWE / provided (ARFF) gold, delay, metadata, bad input."""

import numpy as np
import pandas as pd
import pytest
from test_bad_input import assert_clean_failure
from test_import_openface import openface_csv
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.importers.arff import read_arff
from privbench.data.importers.gold import compensate_delay, ewe_gold, ewe_weights
from privbench.data.layout import Dataset
from privbench.data.validate import validate

runner = CliRunner()
RATERS = ["FM1 ", "FM2 ", "FM3 ", "FF1 ", "FF2 ", "FF3"]  # as RECOLA ships them
ROWS = 50  # 2 s at 40 ms


def rater_values(seed):
    """[ROWS, 6] ratings in [-1, 1]: a shared signal plus rater bias and noise."""
    rng = np.random.default_rng(seed)
    signal = 0.5 * np.sin(np.linspace(0, 3, ROWS))[:, None]
    return np.clip(signal + rng.uniform(-0.3, 0.3, 6) + rng.normal(0, 0.1, (ROWS, 6)), -1, 1).round(2)


def write_raters(path, values):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [";".join(["time", *RATERS])]
    lines += [";".join([f"{i * 0.04:.2f}", *map(str, row)]) for i, row in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")


def write_arff(path, pid, values):
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [f"'{pid}',{i * 0.04:.6f},{v:.6f}" for i, v in enumerate(values)]
    path.write_text("@relation GoldStandard\n\n@attribute Instance_name string\n@attribute frameTime numeric\n"
                    "@attribute GoldStandard numeric\n\n@data\n\n" + "\n".join(rows) + "\n")


@pytest.fixture
def recola(tmp_path):
    """A RECOLA original-layout tree (P16, P17, P19), OpenFace CSVs beside it and a metadata table."""
    root = tmp_path / "RECOLA"
    for i, pid in enumerate(["P16", "P17", "P19"]):
        for d, dim in enumerate(["arousal", "valence"]):
            write_raters(root / f"RECOLA-Annotation/emotional_behaviour/{dim}/{pid}.csv", rater_values(10 * i + d))
        openface_csv_dir = tmp_path / "openface"
        openface_csv_dir.mkdir(exist_ok=True)
        openface_csv(openface_csv_dir / f"{pid}.csv", rows=40 if pid == "P17" else ROWS, failed=[3], seed=i)
    (tmp_path / "meta.csv").write_text("ID;Sex;Age;Mother_tongue;Handedness\n16;female;21;French;right\n"
                                       "17;M;25;Italian;left\n19;f;;French;right\n")
    return tmp_path


def import_recola(tmp_path, *args):
    out = tmp_path / "ds"
    return runner.invoke(app, ["data", "import-recola", *map(str, args), "--out", str(out), "--no-progress"]), out


def test_original_layout_with_openface_and_metadata(recola):
    result, out = import_recola(recola, recola / "RECOLA", "--openface", recola / "openface",
                                "--metadata", recola / "meta.csv")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    dataset = Dataset(out)
    assert dataset.ids == ["P16", "P17", "P19"]
    assert dataset.manifest.annotators == ["FM1", "FM2", "FM3", "FF1", "FF2", "FF3"]  # "FM1 " stripped
    assert dataset.manifest.fps == 25.0
    ratings = dataset.ratings("P16")
    assert "valence_FM1" in ratings.columns and "arousal_FF3" in ratings.columns
    raters = rater_values(1)  # P16 valence
    assert np.allclose(ratings["valence"], raters.mean(axis=1), atol=1e-6)  # --gold mean is the default
    aus = dataset.aus("P17")  # its OpenFace CSV covers 40 of the 50 rating rows
    assert len(aus) == ROWS and np.allclose(aus["timestamp"], ratings["timestamp"])
    assert aus.index[aus["success"] == 0].tolist() == [3, *range(40, ROWS)]
    meta = dataset.participants.set_index("participant_id")
    assert meta.loc["P16", "gender"] == "F" and meta.loc["P17", "gender"] == "M" and meta.loc["P19", "gender"] == "F"
    assert meta.loc["P17", "language"] == "Italian" and meta.loc["P16", "age"] == 21
    assert pd.isna(meta.loc["P19", "age"])
    assert meta.loc["P17", "handedness"] == "left"  # unknown columns are kept
    report = validate(out)
    assert report.kinds == ["action units", "ratings"] and report.pixel_files == []
    assert report.masked_rows == dataset.manifest.counts["masked_rows"] == 1 + (1 + 10) + 1  # failed rows + uncovered


def test_ewe_matches_a_hand_computed_example():
    r1 = np.array([0.0, 0.2, 0.4, 0.6])
    ratings = np.stack([r1, r1 + 0.2, 2 * r1 - 0.3], axis=1)
    # pairwise CCCs by hand: (1,2) 0.1/0.14 = 5/7, (1,3) 0.2/0.25 = 0.8, (2,3) 0.2/0.29 = 20/29
    raw = np.array([(5 / 7 + 0.8) / 2, (5 / 7 + 20 / 29) / 2, (0.8 + 20 / 29) / 2])
    assert np.allclose(ewe_weights(ratings), raw / raw.sum())
    means = np.array([0.3, 0.5, 0.3])
    centred = np.array([-0.4, -0.4 / 3, 0.4 / 3, 0.4])  # mean over raters of (y_r - m_r)
    expected = centred + raw @ means / raw.sum()
    assert np.allclose(ewe_gold(ratings), expected)
    assert not np.allclose(ewe_gold(ratings), ratings.mean(axis=1), atol=1e-3)


def test_ewe_clips_disagreeing_raters():
    r1 = np.array([0.0, 0.2, 0.4, 0.6])
    ratings = np.stack([r1, r1 + 0.1, 0.6 - r1], axis=1)  # the third rater runs against the others
    weights = ewe_weights(ratings)
    assert weights[2] == 0 and weights.sum() == pytest.approx(1)


def test_ewe_gold_and_delay_through_the_cli(recola):
    _, mean_out = import_recola(recola / "mean", recola / "RECOLA", "--openface", recola / "openface")
    result, ewe_out = import_recola(recola / "ewe", recola / "RECOLA", "--openface", recola / "openface",
                                    "--gold", "ewe", "--delay", "0.2")
    assert result.exit_code == 0, result.output
    mean, ewe = Dataset(mean_out).ratings("P16"), Dataset(ewe_out).ratings("P16")
    expected = compensate_delay(ewe_gold(rater_values(1)), 5)  # 0.2 s = 5 rows of 40 ms
    assert np.allclose(ewe["valence"], expected, atol=1e-6)
    assert not np.allclose(ewe["valence"], mean["valence"], atol=1e-3)
    assert np.allclose(ewe["valence_FM1"].iloc[:-5], mean["valence_FM1"].iloc[5:])  # raters shifted too
    assert "gold ewe; delay 0.2 s" in Dataset(ewe_out).manifest.source


def test_arff_is_parsed(tmp_path):
    write_arff(tmp_path / "g.arff", "train_1", [0.1, -0.25, 0.5])
    table = read_arff(tmp_path / "g.arff")
    assert list(table.columns) == ["Instance_name", "frameTime", "GoldStandard"]
    assert table["Instance_name"].tolist() == ["train_1"] * 3
    assert table["GoldStandard"].tolist() == [0.1, -0.25, 0.5]
    assert table["frameTime"].tolist() == pytest.approx([0, 0.04, 0.08])


@pytest.fixture
def avec(tmp_path):
    """An AVEC 2016 tree: ratings_individual, ratings_gold_standard (ARFF) and OpenFace CSVs."""
    root = tmp_path / "AVEC_2016"
    for i, pid in enumerate(["train_1", "dev_1"]):
        for d, dim in enumerate(["arousal", "valence"]):
            values = rater_values(i * 10 + d)
            write_raters(root / f"ratings_individual/{dim}/{pid}.csv", values)
            write_arff(root / f"ratings_gold_standard/{dim}/{pid}.arff", pid, ewe_gold(values) + 0.001)
        (tmp_path / "of").mkdir(exist_ok=True)
        openface_csv(tmp_path / "of" / f"{pid}.csv", rows=ROWS, seed=i)
    return tmp_path


def test_avec_layout_with_the_provided_arff_gold(avec):
    result, out = import_recola(avec, avec / "AVEC_2016", "--openface", avec / "of", "--gold", "provided")
    assert result.exit_code == 0, result.output
    dataset = Dataset(out)
    assert dataset.ids == ["dev_1", "train_1"] and "AVEC 2016" in dataset.manifest.source
    ratings = dataset.ratings("train_1")
    assert np.allclose(ratings["valence"], ewe_gold(rater_values(1)) + 0.001, atol=1e-6)
    assert "valence_FM1" in ratings.columns
    assert validate(out).kinds == ["action units", "ratings"]


def test_openface_files_must_match_the_rated_participants(recola):
    openface_csv(recola / "openface" / "P99.csv")
    result, out = import_recola(recola, recola / "RECOLA", "--openface", recola / "openface")
    assert_clean_failure(result, "P99.csv: participant 'P99' does not match", out)


def test_missing_openface_file_names_the_participant(recola):
    (recola / "openface" / "P17.csv").unlink()
    result, out = import_recola(recola, recola / "RECOLA", "--openface", recola / "openface")
    assert_clean_failure(result, "P17.csv: no OpenFace CSV for participant 'P17'", out)


def test_missing_au_columns_in_an_openface_file(recola):
    path = recola / "openface" / "P19.csv"
    pd.read_csv(path, skipinitialspace=True).drop(columns=["AU01_r"]).to_csv(path, index=False)
    result, out = import_recola(recola, recola / "RECOLA", "--openface", recola / "openface")
    assert_clean_failure(result, "P19.csv: missing AU column(s) AU01_r", out)


def test_truncated_rating_file(recola):
    path = recola / "RECOLA/RECOLA-Annotation/emotional_behaviour/arousal/P19.csv"
    path.write_text(path.read_text()[:-12])
    result, out = import_recola(recola, recola / "RECOLA", "--openface", recola / "openface")
    assert_clean_failure(result, "arousal/P19.csv: data row", out)


def test_a_folder_that_is_not_recola(tmp_path):
    (tmp_path / "empty").mkdir()
    result, out = import_recola(tmp_path, tmp_path / "empty", "--openface", tmp_path)
    assert_clean_failure(result, "empty: not a RECOLA folder", out)


def test_ratings_alone_are_not_a_dataset(recola):
    result, out = import_recola(recola, recola / "RECOLA")
    assert_clean_failure(result, "nothing to import besides ratings", out)
