import json

from conftest import tiny_config
from typer.testing import CliRunner

from privbench.cli import app
from privbench.data.generate import write_synthetic
from privbench.data.validate import validate
from privbench.progress import Progress

runner = CliRunner()


def test_validate_reports_what_the_dataset_holds(tiny_dataset):
    report = validate(tiny_dataset)
    assert report.participants == 6
    assert report.kinds == ["action units", "ratings", "face frames"]
    assert report.frame_shape == (32, 32, 3)
    assert report.frames_total == 6 * 20 * 25
    assert set(report.metadata_fields) == {"gender", "age", "language"}
    assert len(report.pixel_files) == 6


def test_au_only_dataset_is_proven_pixel_free(tmp_path):
    out = write_synthetic(tiny_config("participants=2", "seconds=2"), tmp_path / "au", force=False, frames=False,
                          progress=Progress(enabled=False))
    result = runner.invoke(app, ["data", "validate", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["pixel_files"] == [] and record["with_frames"] == 0
    assert record["kinds"] == ["action units", "ratings"]


def test_synth_command_writes_a_valid_dataset(tmp_path):
    out = tmp_path / "synth"
    result = runner.invoke(app, ["data", "synth", "--profile", "quick", "--set", "participants=2", "--set", "seconds=2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(out)
    assert validate(out).participants == 2
