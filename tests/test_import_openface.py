"""import-openface: old and new OpenFace formats, masking, interpolation, ratings alignment, bad input."""

import json

import numpy as np
import pandas as pd
import pytest
from test_bad_input import assert_clean_failure
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.importers.openface import Cleaning, clean, read_openface
from privbench.data.layout import AU_COLUMNS, AU_INTENSITY, AU_PRESENCE, Dataset
from privbench.data.validate import validate

runner = CliRunner()


def openface_csv(path, rows=20, old=True, failed=(), confidence=None, step=0.04, start=0.0, seed=0):
    """An OpenFace 2.x CSV; ``old``: no face_id and ", " separators (names arrive padded)."""
    rng = np.random.default_rng(seed)
    table = {"frame": np.arange(1, rows + 1)}
    if not old:
        table["face_id"] = np.zeros(rows, int)
    table["timestamp"] = np.round(start + np.arange(rows) * step, 3)
    table["confidence"] = np.full(rows, 0.98) if confidence is None else confidence
    table["success"] = np.ones(rows, int)
    table["gaze_0_x"] = rng.normal(size=rows).round(3)
    for name in AU_INTENSITY:
        table[name] = rng.uniform(0, 5, rows).round(2)
    for name in AU_PRESENCE:
        table[name] = rng.integers(0, 2, rows).astype(float)
    frame = pd.DataFrame(table)
    for row in failed:
        frame.loc[row, "success"] = 0
        frame.loc[row, "confidence"] = 0.0
        frame.loc[row, AU_COLUMNS] = 0.0
    separator = ", " if old else ","
    lines = [separator.join(frame.columns)] + [separator.join(str(v) for v in row) for row in frame.itertuples(index=False)]
    path.write_text("\n".join(lines) + "\n")
    return frame


def ratings_csv(path, rows=25, step=0.04):
    times = np.round(np.arange(rows) * step, 2)
    t = np.linspace(0, 1, rows)
    pd.DataFrame({"time": times, "valence_A": 0.5 * t, "valence_B": 0.3 * t, "arousal_A": -0.2 * t,
                  "arousal_B": 0.1 + 0 * t}).to_csv(path, index=False)


def invoke(*args):
    return runner.invoke(app, ["data", *map(str, args)])


def test_old_format_is_read_and_failed_rows_are_masked(tmp_path):
    openface_csv(tmp_path / "P1.csv", failed=[5])
    openface_csv(tmp_path / "P2.csv", old=False, seed=1)
    out = tmp_path / "aus"
    result = invoke("import-openface", tmp_path / "P1.csv", tmp_path / "P2.csv", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    assert "masked AU rows" in result.output
    dataset = Dataset(out)
    assert dataset.ids == ["P1", "P2"]
    aus = dataset.aus("P1")
    assert list(aus.columns) == ["timestamp", "success", *AU_COLUMNS]  # " AU01_r" stripped, extra columns dropped
    assert aus["success"].tolist().count(0) == 1 and aus.loc[5, "success"] == 0
    assert (aus.loc[5, AU_COLUMNS] == 0).all()
    assert dataset.manifest.counts["masked_rows"] == 1 and dataset.manifest.counts["rows"] == 40
    assert dataset.manifest.fps == 25.0
    report = validate(out)
    assert report.kinds == ["action units"] and report.masked_rows == 1
    assert report.pixel_files == [] and report.with_ratings == 0


def test_low_confidence_rows_are_masked_on_request(tmp_path):
    confidence = np.full(20, 0.95)
    confidence[[3, 4, 10]] = 0.5
    openface_csv(tmp_path / "P1.csv", confidence=confidence, failed=[15])
    table = read_openface(tmp_path / "P1.csv")
    assert clean(table, Cleaning(), tmp_path)[0]["success"].tolist().count(0) == 1
    masked, _ = clean(table, Cleaning(min_confidence=0.8), tmp_path)
    assert masked.index[masked["success"] == 0].tolist() == [3, 4, 10, 15]


def test_short_gaps_are_interpolated_and_counted(tmp_path):
    frame = openface_csv(tmp_path / "P1.csv", rows=20, failed=[4, 5, 10, 11, 12, 19])
    out = tmp_path / "aus"
    result = invoke("import-openface", tmp_path / "P1.csv", "--interpolate", 2, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    aus = Dataset(out).aus("P1")
    # the 2-row gap is filled linearly; the 3-row gap and the gap at the end stay masked
    assert aus.index[aus["success"] == 0].tolist() == [10, 11, 12, 19]
    expected = frame.loc[3, "AU12_r"] + (frame.loc[6, "AU12_r"] - frame.loc[3, "AU12_r"]) / 3
    assert aus.loc[4, "AU12_r"] == pytest.approx(expected)
    assert set(aus["AU12_c"]) <= {0, 1}
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["interpolated_rows"] == 2 and counts["masked_rows"] == 4


def test_ratings_become_the_time_grid(tmp_path):
    openface_csv(tmp_path / "P1.csv", rows=20, step=0.04, start=0.01, failed=[2])  # 0.01 .. 0.77 s
    ratings_csv(tmp_path / "P1_ratings.csv", rows=25)  # 0 .. 0.96 s
    (tmp_path / "r").mkdir()
    (tmp_path / "P1_ratings.csv").rename(tmp_path / "r" / "P1.csv")
    out = tmp_path / "ds"
    result = invoke("import-openface", tmp_path / "P1.csv", "--ratings", tmp_path / "r" / "P1.csv", "--out", out,
                    "--no-progress")
    assert result.exit_code == 0, result.output
    dataset = Dataset(out)
    aus, ratings = dataset.aus("P1"), dataset.ratings("P1")
    assert len(aus) == len(ratings) == 25
    assert np.allclose(aus["timestamp"], ratings["timestamp"])
    # rows 20..24 (0.80 s on) lie beyond OpenFace's coverage: masked, plus the failed row
    assert aus.index[aus["success"] == 0].tolist() == [2, 20, 21, 22, 23, 24]
    assert list(ratings.columns) == ["timestamp", "valence_A", "valence_B", "arousal_A", "arousal_B", "valence", "arousal"]
    assert np.allclose(ratings["valence"], (ratings["valence_A"] + ratings["valence_B"]) / 2, atol=1e-6)
    assert dataset.manifest.annotators == ["A", "B"]
    assert validate(out).kinds == ["action units", "ratings"]


def test_au_only_import_is_refused_by_run(tmp_path):
    for i in range(4):
        openface_csv(tmp_path / f"P{i}.csv", rows=80, seed=i)
    out = tmp_path / "aus"
    assert invoke("import-openface", *[tmp_path / f"P{i}.csv" for i in range(4)], "--out", out).exit_code == 0
    result = runner.invoke(app, ["run", "--profile", "quick", "--no-progress", "--folds", "2", "--data", str(out),
                                 "--out", str(tmp_path / "r")])
    assert_clean_failure(result, "AU-only", tmp_path / "r")


def truncated(path):
    openface_csv(path)
    text = path.read_text()
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 30])


def malformed(path):
    openface_csv(path)
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(", ", ", oops", 1)
    path.write_text("\n".join(lines))


def missing_au(path):
    frame = openface_csv(path).drop(columns=["AU45_c", "AU12_r"])
    frame.to_csv(path, index=False)


def empty(path):
    path.write_text("")


@pytest.mark.parametrize("damage, needle", [
    (truncated, "truncated or malformed"),
    (malformed, "not a number"),
    (missing_au, "missing AU column(s) AU12_r, AU45_c"),
    (empty, "empty file"),
])
def test_bad_openface_csv_names_the_file(tmp_path, damage, needle):
    openface_csv(tmp_path / "P1.csv")
    damage(tmp_path / "P2.csv")
    out = tmp_path / "ds"
    result = invoke("import-openface", tmp_path / "P1.csv", tmp_path / "P2.csv", "--out", out)
    assert_clean_failure(result, "P2.csv: ", out)
    assert needle in result.output


def test_ratings_must_match_the_participants(tmp_path):
    openface_csv(tmp_path / "P1.csv")
    (tmp_path / "r").mkdir()
    ratings_csv(tmp_path / "r" / "P9.csv")
    out = tmp_path / "ds"
    result = invoke("import-openface", tmp_path / "P1.csv", "--ratings", tmp_path / "r" / "P9.csv", "--out", out)
    assert_clean_failure(result, "P9.csv: participant 'P9' does not match", out)


def test_existing_output_is_never_overwritten(tmp_path):
    openface_csv(tmp_path / "P1.csv")
    out = tmp_path / "ds"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_clean_failure(invoke("import-openface", tmp_path / "P1.csv", "--out", out), "already exists")
    assert (out / "keep.txt").read_text() == "mine"
    result = invoke("import-openface", tmp_path / "P1.csv", "--out", out, "--force")
    assert result.exit_code == 0 and not (out / "keep.txt").exists()
