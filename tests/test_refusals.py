"""A refusal names its real cause: what the data cannot serve before any fold arithmetic, a file given
as a dataset folder, an output folder whose parent takes no files."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_config
from test_bad_input import assert_clean_failure
from test_import_openface import openface_csv
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.progress import Progress

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def first_line(result) -> str:
    return next(line for line in result.output.splitlines() if line.strip())


@pytest.fixture
def au_only(tmp_path):
    """Three people imported from OpenFace CSVs without ratings: for the attacks only."""
    csvs = [tmp_path / f"P{i}.csv" for i in range(3)]
    for i, csv in enumerate(csvs):
        openface_csv(csv, rows=60, seed=i)
    assert invoke("data", "import-openface", *csvs, "--out", tmp_path / "aus", "--no-progress").exit_code == 0
    return tmp_path / "aus"


@pytest.mark.parametrize("folds", [2, 3])
def test_a_set_without_ratings_is_refused_for_that_whatever_the_folds(au_only, tmp_path, folds):
    result = invoke("run", "--method", "au", "--profile", "quick", "--no-progress", "--folds", folds,
                    "--data", au_only, "--out", tmp_path / "r")
    assert_clean_failure(result, "no ratings.csv for any participant; --method au needs ratings", tmp_path / "r")
    assert "AU-only" in first_line(result) and "val_participants" not in result.output


def test_a_frame_method_on_a_set_without_frames_names_the_frames(tmp_path):
    data = write_synthetic(tiny_config("participants=3", "seconds=10"), tmp_path / "noframes", force=False,
                           frames=False, progress=Progress(enabled=False))
    result = invoke("run", "--method", "central", "--profile", "quick", "--no-progress", "--folds", 2,
                    "--data", data, "--out", tmp_path / "r")
    assert_clean_failure(result, "no frames.npy for any participant; --method central needs face frames "
                                 "(this dataset holds action units and ratings)", tmp_path / "r")
    assert "val_participants" not in result.output


def test_a_participant_without_ratings_is_named(tiny_dataset, tmp_path):
    data = shutil.copytree(tiny_dataset, tmp_path / "copy")
    (data / "P04" / "ratings.csv").unlink()
    result = invoke("run", "--profile", "quick", "--no-progress", "--folds", 2, "--data", data, "--out", tmp_path / "r")
    assert_clean_failure(result, "no ratings.csv for P04 (1 of 6); --method au needs ratings", tmp_path / "r")


@pytest.mark.parametrize("command", [["run", "--profile", "quick", "--no-progress"],
                                     ["attack", "reid", "--profile", "quick", "--no-progress"]])
def test_data_that_is_a_file_is_called_a_file(tmp_path, command):
    plain = tmp_path / "aus.csv"
    plain.write_text("timestamp,AU01_r\n0,1\n")
    result = invoke(*command, "--data", plain, "--out", tmp_path / "r")
    assert_clean_failure(result, f"{plain}: is a file, not a dataset folder", tmp_path / "r")
    assert_clean_failure(invoke("data", "validate", plain), f"{plain}: is a file, not a dataset folder")


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("out, needle", [
    ("/proc/privbench-x", "/proc: takes no new files or folders, so /proc/privbench-x cannot be created there "
                          "(creating .privbench-x.lock: No such file or directory)"),
    ("/proc/privbench-x/y", "/proc: takes no new files or folders, so /proc/privbench-x/y cannot be created there "
                            "(creating privbench-x: No such file or directory)"),
])
def test_an_output_in_proc_names_what_is_missing(out, needle):
    result = invoke("run", "--profile", "quick", "--no-progress", "--out", out)
    assert_clean_failure(result, needle)
    assert "cannot write there" not in result.output


def test_an_output_under_a_file_names_the_file(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    out = tmp_path / "notes.txt" / "run"
    result = invoke("run", "--profile", "quick", "--no-progress", "--out", out)
    assert_clean_failure(result, f"{tmp_path / 'notes.txt'}: is a file, not a folder, so {out} cannot be created in it")
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --- a refusal of a bad value or path comes before torch, Flower or the data stack is imported ---------------

HEAVY = ("torch", "flwr", "pandas", "numpy", "scipy")
EARLY_REFUSALS = [
    (["run", "--set", "lr=-1"], "lr must be positive"),
    (["run", "--set", "epochs=0"], "epochs must be positive"),
    (["run", "--method", "central", "--set", "num_workers=-1"], "num_workers must be >= 0"),
    (["run", "--method", "fedavg", "--set", "client_fraction=2"], "client_fraction"),
    (["run", "--set", "colour=blue"], "unknown key 'colour'"),
    (["run", "--set", "data.participants=1"], "data.participants must be in 2..10,000"),
    (["run", "--rnn", "lstm"], "unknown rnn 'lstm'"),
    (["run", "--folds", "1"], "--folds must be at least 2"),
    (["run", "--folds", "11", "--profile", "quick"], "--folds 11 is more than the 10 participants"),
    (["run", "--data", "/nonexistent/privbench"], "no such dataset folder"),
    (["run", "--data", "/proc/self/status"], "is a file, not a dataset folder"),
    (["run", "--data", "/"], "not a privbench dataset (no manifest.json)"),
    (["run", "--out", "/proc/privbench-x"], "/proc: takes no new files or folders"),
    (["attack", "reid", "--data", "/nonexistent/privbench"], "no such dataset folder"),
    (["attack", "gradinv", "--out", "/proc/privbench-x"], "/proc: takes no new files or folders"),
    (["data", "synth", "--set", "participants=1", "--out", "/proc/privbench-x"], "data.participants must be in"),
    (["data", "synth", "--out", "/proc/privbench-x"], "/proc: takes no new files or folders"),
]


def test_bad_values_and_paths_are_refused_before_any_heavy_import():
    """Each refusal in a fresh interpreter: exit 2, its line, and none of HEAVY imported (what made them
    take 3-16 s; benchmarks/refusal_time.py measures the time)."""
    probe = (
        "import contextlib, io, json, sys\nfrom privbench.cli import app\nargs, heavy = json.loads(sys.argv[1]), {}\n"
        "err = io.StringIO()\nwith contextlib.redirect_stderr(err):\n    try:\n        app(args)\n"
        "    except SystemExit as done:\n        status = done.code\n"
        f"print(json.dumps([status, err.getvalue(), [m for m in {HEAVY!r} if m in sys.modules]]))"
    )
    for args, needle in EARLY_REFUSALS:
        done = subprocess.run([sys.executable, "-c", probe, json.dumps(args)], capture_output=True, text=True,
                              timeout=120)
        status, stderr, heavy = json.loads(done.stdout.strip().splitlines()[-1])
        assert (status, heavy) == (2, []), (args, stderr, heavy)
        assert stderr.count("\n") == 1 and needle in stderr, (args, stderr)
