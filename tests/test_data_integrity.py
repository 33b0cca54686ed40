"""Broken data is refused with one line naming the file, by `run` and `data validate` alike, and the
synthetic cache survives concurrent use and damage."""

import json
import multiprocessing
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_config
from test_bad_input import assert_clean_failure
from test_import_openface import openface_csv
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.frames import FrameStore
from privbench.data.generate import CACHE_RECORD, entry_intact, synthetic_dataset, write_synthetic
from privbench.data.importers.arff import read_arff
from privbench.data.importers.metadata import read_metadata
from privbench.data.importers.ratings import read_ratings_csv
from privbench.data.importers.tables import numeric, read_delimited
from privbench.data.layout import Dataset
from privbench.data.synthetic import _convolve_same, generate, people
from privbench.errors import DatasetError
from privbench.progress import Progress

runner = CliRunner()
QUIET = Progress(enabled=False)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def run_au(data, out):
    return invoke("run", "--method", "au", "--profile", "quick", "--no-progress", "--folds", 2, "--data", data,
                  "--out", out)


@pytest.fixture
def data(tiny_dataset, tmp_path):
    """A private copy of the tiny dataset, to break."""
    return shutil.copytree(tiny_dataset, tmp_path / "copy")


def edit_csv(path, change):
    """Rewrite a table through ``change``, which edits it in place or returns a new one."""
    table = pd.read_csv(path)
    changed = change(table)
    (table if changed is None else changed).to_csv(path, index=False)


def set_cell(column, row, value):
    def change(table):
        table[column] = table[column].astype(object)
        table.loc[row, column] = value
    return change


# --- 1. frame files whose size does not match their header -------------------------------------

def truncate(path, size):
    with open(path, "r+b") as handle:
        handle.truncate(size)


def test_truncated_frames_are_refused_by_run_and_validate(data, tmp_path):
    path = data / "P03" / "frames.npy"
    truncate(path, path.stat().st_size // 2)
    result = invoke("run", "--method", "central", "--profile", "quick", "--no-progress", "--folds", 2,
                    "--data", data, "--out", tmp_path / "r")
    assert_clean_failure(result, "P03/frames.npy: holds", tmp_path / "r")
    assert "re-import" in result.output
    assert_clean_failure(invoke("data", "validate", data), "P03/frames.npy: holds")


@pytest.mark.parametrize("extra", [-1, 1])
def test_frame_file_size_must_equal_its_header(data, extra):
    path = data / "P01" / "frames.npy"
    size = path.stat().st_size
    if extra < 0:
        truncate(path, size - 1)
    else:
        with open(path, "ab") as handle:
            handle.write(b"\0")
    for read in (lambda: FrameStore(path), lambda: Dataset(data).frames("P01")):
        with pytest.raises(DatasetError, match=f"holds {size + extra:,} bytes but .* needs {size:,}"):
            read()


def test_a_short_read_is_an_error_not_uninitialised_memory(data):
    path = data / "P02" / "frames.npy"
    store = FrameStore(path)
    np.testing.assert_array_equal(store.read(np.array([0, len(store) - 1]))[0], Dataset(data).frames("P02")[0])
    truncate(path, path.stat().st_size - store.row_bytes // 2)
    with pytest.raises(DatasetError, match=f"frame {len(store) - 1}: read .* of {store.row_bytes} bytes"):
        store.read(np.array([0, len(store) - 1]))


# --- 2. per-table checks: the same for run and validate ----------------------------------------

@pytest.mark.parametrize("file, change, needle", [
    ("ratings.csv", set_cell("valence", 7, 1.5), "gold values outside [-1, 1]"),
    ("ratings.csv", set_cell("arousal", 7, float("nan")), "empty gold valence/arousal values (data row 8"),
    ("ratings.csv", set_cell("arousal", 3, "inf"), "non-finite gold valence/arousal value (inf)"),
    ("ratings.csv", set_cell("timestamp", 9, 0.0), "timestamps are not increasing (data row 10)"),
    ("aus.csv", set_cell("AU04_r", 11, "inf"), "non-finite AU value (inf) (data row 12, column AU04_r)"),
    ("aus.csv", set_cell("AU12_r", 2, "-inf"), "non-finite AU value (-inf)"),
    ("aus.csv", set_cell("AU12_r", 2, 1e39), "AU value out of range (1e+39)"),
    ("aus.csv", set_cell("AU45_c", 4, float("nan")), "empty AU values (data row 5, column AU45_c)"),
    ("aus.csv", set_cell("AU01_r", 4, "high"), "data row 5, column AU01_r: AU value not a number ('high')"),
    ("aus.csv", set_cell("timestamp", 6, float("nan")), "empty timestamp values (data row 7"),
    ("aus.csv", set_cell("success", 6, 2), "column success must hold 0 or 1"),
    ("aus.csv", lambda table: table.iloc[:0], "no rows"),
    ("ratings.csv", lambda table: table.iloc[:0], "no rows"),
])
def test_bad_table_is_refused_by_run_and_validate(data, tmp_path, file, change, needle):
    edit_csv(data / "P02" / file, change)
    assert_clean_failure(run_au(data, tmp_path / "r"), f"P02/{file}: {needle}"[:60], tmp_path / "r")
    result = invoke("data", "validate", data)
    assert_clean_failure(result, f"P02/{file}: ")
    assert needle in result.output


def test_ratings_must_line_up_with_the_au_rows_for_validate_as_for_run(data, tmp_path):
    edit_csv(data / "P04" / "ratings.csv", lambda table: table.__setitem__("timestamp", table["timestamp"] + 1.0))
    needle = "P04/ratings.csv: timestamps do not match"
    assert_clean_failure(run_au(data, tmp_path / "r"), needle, tmp_path / "r")
    assert_clean_failure(invoke("data", "validate", data), needle)


# --- 6. manifest and participants.csv ----------------------------------------------------------

@pytest.mark.parametrize("key, value, needle", [
    ("fps", "abc", 'fps must be a positive number, found "abc"'),
    ("fps", -25, "fps must be a positive number, found -25"),
    ("fps", 0, "fps must be a positive number"),
    ("fps", True, "fps must be a positive number"),
    ("frame_size", 0, "frame_size must be a positive integer or null"),
    ("frame_size", 32.5, "frame_size must be a positive integer or null"),
    ("au_columns", "AU01_r", "au_columns must be a list of distinct names"),
    ("au_columns", ["AU01_r", "AU01_r"], "au_columns must be a list of distinct names"),
    ("annotators", [1, 2], "annotators must be a list of distinct names"),
    ("version", 2, "version must be 1"),
    ("counts", {"rows": -1}, "counts must map names to counts"),
    ("name", None, "name must be a string"),
])
def test_manifest_values_of_the_wrong_type_are_refused(data, tmp_path, key, value, needle):
    manifest = json.loads((data / "manifest.json").read_text())
    (data / "manifest.json").write_text(json.dumps({**manifest, key: value}))
    assert_clean_failure(invoke("data", "validate", data), f"manifest.json: {needle}")
    assert_clean_failure(run_au(data, tmp_path / "r"), f"manifest.json: {needle}", tmp_path / "r")


def test_manifest_must_be_an_object(data):
    (data / "manifest.json").write_text("[1, 2]")
    assert_clean_failure(invoke("data", "validate", data), "manifest.json: expected a JSON object, found list")


def test_participants_csv_without_rows_is_refused_by_run_and_validate(data, tmp_path):
    (data / "participants.csv").write_text("participant_id,gender,age,language\n")
    assert_clean_failure(invoke("data", "validate", data), "participants.csv: no participants")
    assert_clean_failure(run_au(data, tmp_path / "r"), "participants.csv: no participants", tmp_path / "r")


@pytest.mark.parametrize("ids, needle", [
    (["P01", " "], "participants.csv: empty participant_id (data row 2)"),
    (["P01", ""], "participants.csv: empty participant_id (data row 2)"),
    (["P01", ".."], "participants.csv: participant id '..' is not a folder name"),
])
def test_bad_participant_ids_are_refused(data, ids, needle):
    (data / "participants.csv").write_text("participant_id,gender\n" + "".join(f"{i},F\n" for i in ids))
    assert_clean_failure(invoke("data", "validate", data), needle)


def test_participant_ids_are_read_as_text(data):
    """'001' stays '001' (pandas would read a column of digits as numbers: 1)."""
    table = pd.read_csv(data / "participants.csv", dtype=str)
    for i, pid in enumerate(table["participant_id"]):
        (data / pid).rename(data / f"{i + 1:03d}")
        table.loc[i, "participant_id"] = f"{i + 1:03d}"
    table.to_csv(data / "participants.csv", index=False)
    assert Dataset(data).ids[:2] == ["001", "002"]
    assert invoke("data", "validate", data).exit_code == 0


# --- 3. importers ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_numeric_refuses_non_finite_values(tmp_path, value):
    path = tmp_path / "t.csv"
    path.write_text(f"time,valence\n0,0.1\n0.04,{value}\n")
    with pytest.raises(DatasetError, match="t.csv: data row 2, column valence: (not a finite number|empty or NaN)"):
        numeric(read_delimited(path), ["valence"], path)


def test_openface_inf_is_refused_by_the_importer(tmp_path):
    openface_csv(tmp_path / "P1.csv")
    lines = (tmp_path / "P1.csv").read_text().splitlines()
    header = [c.strip() for c in lines[0].split(",")]
    cells = lines[4].split(",")
    cells[header.index("AU12_r")] = " inf"
    lines[4] = ",".join(cells)
    (tmp_path / "P1.csv").write_text("\n".join(lines) + "\n")
    result = invoke("data", "import-openface", tmp_path / "P1.csv", "--out", tmp_path / "ds")
    assert_clean_failure(result, "P1.csv: data row 4, column AU12_r: not a finite number ('inf')", tmp_path / "ds")


def test_header_only_openface_csv_is_one_line(tmp_path):
    openface_csv(tmp_path / "P1.csv")
    (tmp_path / "P2.csv").write_text((tmp_path / "P1.csv").read_text().splitlines()[0] + "\n")
    result = invoke("data", "import-openface", tmp_path / "P1.csv", tmp_path / "P2.csv", "--out", tmp_path / "ds")
    assert_clean_failure(result, "P2.csv: no data rows", tmp_path / "ds")


@pytest.mark.parametrize("content, needle", [
    (b"", "empty file"),
    (b"time,valence,arousal\n", "no data rows"),
    (b"\x00\x01\x02PK\x03\x04" * 100, "not a text file (binary data)"),
    ("time,valence,arousal\n0,0.1,0.1\n".encode("utf-16"), "UTF-16 text; save it as UTF-8"),
    ("time,valence,arousal\n0,0.1,0.1\n0.04,0.2,0.2 é\n".encode("latin-1"), "not UTF-8 text (a byte 0xe9)"),
    (b"time,valence,arousal\n0,0.1,0.1\n0.04,0.2,-inf\n", "data row 2, column arousal: not a finite number"),
])
def test_bad_ratings_file_is_one_line(tmp_path, content, needle):
    path = tmp_path / "P1.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="P1.csv: ") as err:
        read_ratings_csv(path)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_header_only_metadata_is_refused(tmp_path):
    (tmp_path / "meta.csv").write_text("participant,gender,age\n")
    with pytest.raises(DatasetError, match="meta.csv: no data rows"):
        read_metadata(tmp_path / "meta.csv", ["P1"])


@pytest.mark.parametrize("body, needle", [
    ("@attribute frameTime numeric\n@attribute GoldStandard numeric\n@data\n", "no data rows"),
    ("@attribute frameTime numeric\n@attribute GoldStandard numeric\n@data\n0,inf\n",
     "data row 1, attribute GoldStandard: not a finite number"),
])
def test_bad_arff_is_one_line(tmp_path, body, needle):
    (tmp_path / "P1.arff").write_text("@relation gold\n" + body)
    with pytest.raises(DatasetError, match="P1.arff: ") as err:
        read_arff(tmp_path / "P1.arff")
    assert needle in str(err.value)


def test_a_gold_arff_needs_two_attributes(tmp_path):
    from privbench.data.importers.recola import read_provided_gold

    (tmp_path / "P1.arff").write_text("@relation gold\n@attribute GoldStandard numeric\n@data\n0.1\n0.2\n")
    with pytest.raises(DatasetError, match="P1.arff: expected a time and a gold standard attribute, found 1"):
        read_provided_gold(tmp_path / "P1.arff")


# --- 4. short synthetic recordings -------------------------------------------------------------

def test_convolve_same_is_numpys_same_and_fits_short_signals():
    rng = np.random.default_rng(0)
    for n, m in [(50, 5), (50, 50), (51, 4), (12, 25), (10, 3)]:
        x, kernel = rng.random(n), rng.random(m)
        out = _convolve_same(x, kernel)
        assert len(out) == n
        if m <= n:
            np.testing.assert_array_equal(out, np.convolve(x, kernel, mode="same"))


@pytest.mark.parametrize("seconds, fps", [("0.4", "25"), ("0.5", "25"), ("0.5", "60"), ("10", "1"), ("20", "0.5")])
def test_short_recordings_are_generated(tmp_path, seconds, fps):
    cfg = tiny_config("participants=2", f"seconds={seconds}", f"fps={fps}")
    for index, person in enumerate(people(cfg)):
        signals = generate(cfg, index, person)
        assert signals.intensity.shape == (cfg.frames, 17) and signals.presence.shape == (cfg.frames, 18)
    write_synthetic(cfg, tmp_path / "ds", force=False, frames=True, progress=QUIET)
    assert invoke("data", "validate", tmp_path / "ds").exit_code == 0


def test_a_recording_shorter_than_a_window_is_one_line(tmp_path):
    result = invoke("run", "--method", "au", "--profile", "quick", "--no-progress", "--set", "data.seconds=0.5",
                    "--set", "data.participants=4", "--folds", 2, "--out", tmp_path / "r")
    assert_clean_failure(result, "seq_len 50 is longer than participant", tmp_path / "r")
    assert "'s 12 frames" in result.output


# --- 5. the synthetic cache --------------------------------------------------------------------

CACHE_SETTINGS = ("participants=3", "seconds=20")


def _fill_cache(barrier) -> None:
    barrier.wait()
    synthetic_dataset(tiny_config(*CACHE_SETTINGS), True, QUIET)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PRIVBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The dataset the cache must hold, written directly."""
    out = tmp_path_factory.mktemp("reference") / "ds"
    return write_synthetic(tiny_config(*CACHE_SETTINGS), out, force=False, frames=True, progress=QUIET)


def assert_same_files(entry, reference):
    files = sorted(p.relative_to(reference) for p in reference.rglob("*") if p.is_file())
    assert sorted(p.relative_to(entry) for p in entry.rglob("*") if p.is_file() and p.name != CACHE_RECORD
                  and not p.name.startswith(".")) == files
    for name in files:
        assert (entry / name).read_bytes() == (reference / name).read_bytes(), name


def test_two_processes_fill_one_cache_entry(cache, reference):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    workers = [context.Process(target=_fill_cache, args=(barrier,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    entries = [p for p in (cache / "synthetic").iterdir() if p.is_dir()]
    assert len(entries) == 1 and entry_intact(entries[0])
    assert_same_files(entries[0], reference)


def test_frames_are_added_to_an_entry_without_them(cache, reference):
    cfg = tiny_config(*CACHE_SETTINGS)
    root = synthetic_dataset(cfg, False, QUIET)
    assert not Dataset(root).has_frames("P01") and entry_intact(root)
    (root / "P02" / ".frames.npy.999-dead.partial").write_bytes(b"left by a killed process")
    assert synthetic_dataset(cfg, True, QUIET) == root
    assert entry_intact(root) and not list(root.rglob("*.partial"))
    assert_same_files(root, reference)


@pytest.mark.parametrize("damage", [
    lambda root: truncate(root / "P02" / "frames.npy", 1000),
    lambda root: (root / "P01" / "aus.csv").write_text((root / "P01" / "aus.csv").read_text().replace("1", "2")),
    lambda root: ((root / CACHE_RECORD).unlink(), (root / "P03" / "ratings.csv").unlink()),
])
def test_a_damaged_cache_entry_is_generated_again(cache, reference, damage):
    cfg = tiny_config(*CACHE_SETTINGS)
    root = synthetic_dataset(cfg, True, QUIET)
    damage(root)
    assert not entry_intact(root)
    assert synthetic_dataset(cfg, True, QUIET) == root
    assert entry_intact(root)
    assert_same_files(root, reference)
