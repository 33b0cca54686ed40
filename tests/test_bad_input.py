"""Every bad input: one line naming the problem, exit status 2, no result folder left behind."""

import shutil

import pytest
from typer.testing import CliRunner

from privbench.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def assert_clean_failure(result, needle: str, out=None):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert any(needle in line for line in lines), result.output
    if out is not None:
        assert not out.exists()
        assert not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir())  # no claim, no partial


RUN = ["run", "--profile", "quick", "--no-progress"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--method", "svm"], "unknown method 'svm'; valid: au, central, fedavg"),
        (["--rnn", "transformer"], "unknown rnn 'transformer'; valid: bigru, bilstm, rnn"),
        (["--profile", "huge"], "unknown profile 'huge'"),
        (["--set", "colour=blue"], "unknown key 'colour'"),
        (["--set", "seq_len=-3"], "seq_len must be positive"),
        (["--folds", "11"], "--folds 11 is more than the 10 participants"),
        (["--set", "seq_len=5000"], "seq_len 5000 is longer than participant"),
    ],
)
def test_bad_run_options(tmp_path, args, needle):
    out = tmp_path / "result"
    result = invoke(*[a for a in RUN if a != "--profile" and a != "quick"], "--profile", "quick", *args, "--out", str(out))
    assert_clean_failure(result, needle, out)


def test_missing_data_path(tmp_path):
    result = invoke(*RUN, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r"))
    assert_clean_failure(result, "nowhere: no such dataset folder", tmp_path / "r")


def test_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "junk").mkdir()
    result = invoke(*RUN, "--data", str(tmp_path / "junk"), "--out", str(tmp_path / "r"))
    assert_clean_failure(result, "not a privbench dataset (no manifest.json)", tmp_path / "r")


def test_existing_result_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "done"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    result = invoke(*RUN, "--out", str(out))
    assert result.exit_code == 2
    assert (out / "metrics.json").read_text() == "{}"


def broken_copy(tiny_dataset, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    return copy


def test_malformed_csv_names_the_file(tiny_dataset, tmp_path):
    data = broken_copy(tiny_dataset, tmp_path)
    (data / "P02" / "aus.csv").write_text('timestamp,AU01_r\n0.0,"1.0\n')
    result = invoke(*RUN, "--folds", "2", "--data", str(data), "--out", str(tmp_path / "r"))
    assert_clean_failure(result, "P02/aus.csv", tmp_path / "r")
    assert_clean_failure(invoke("data", "validate", str(data)), "P02/aus.csv")


def test_missing_au_column_names_file_and_column(tiny_dataset, tmp_path):
    data = broken_copy(tiny_dataset, tmp_path)
    path = data / "P03" / "aus.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    result = invoke("data", "validate", str(data))
    assert_clean_failure(result, "P03/aus.csv: missing column(s) AU45_c")


def test_inconsistent_lengths_are_reported(tiny_dataset, tmp_path):
    data = broken_copy(tiny_dataset, tmp_path)
    path = data / "P01" / "ratings.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:-5]) + "\n")
    assert_clean_failure(invoke("data", "validate", str(data)), "P01/ratings.csv")


def test_unlisted_participant_folder_is_reported(tiny_dataset, tmp_path):
    data = broken_copy(tiny_dataset, tmp_path)
    shutil.copytree(data / "P01", data / "P99")
    assert_clean_failure(invoke("data", "validate", str(data)), "P99: folder not listed")


def test_au_only_dataset_is_refused_by_run(tiny_dataset, tmp_path):
    data = broken_copy(tiny_dataset, tmp_path)
    for pid in ("P01", "P02", "P03", "P04", "P05", "P06"):
        (data / pid / "ratings.csv").unlink()
    result = invoke(*RUN, "--folds", "2", "--data", str(data), "--out", str(tmp_path / "r"))
    assert_clean_failure(result, "no ratings.csv for any participant", tmp_path / "r")
    assert "the attacks can use it, `run` cannot" in result.output


def test_synth_refuses_to_overwrite(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_clean_failure(invoke("data", "synth", "--profile", "quick", "--out", str(out)), "already exists")
    assert (out / "keep.txt").read_text() == "mine"
