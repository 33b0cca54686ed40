"""The synthetic cache records a checksum of every frame file and checks it when the frames are used: a
frames.npy edited in place at the same size is rendered again, with one line saying so."""

import json

from conftest import tiny_config
from test_data_integrity import CACHE_SETTINGS, QUIET, assert_same_files, cache, reference  # noqa: F401 (fixtures)

from privbench.data.generate import CACHE_RECORD, entry_problem, synthetic_dataset


def edit_in_place(path, offset=4096, data=b"\xff" * 64):
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    assert path.stat().st_size == size


def test_the_record_holds_every_frame_files_checksum(cache):
    root = synthetic_dataset(tiny_config(*CACHE_SETTINGS), True, QUIET)
    files = json.loads((root / CACHE_RECORD).read_text())["files"]
    frames = [name for name in files if name.endswith("frames.npy")]
    assert len(frames) == 3 and all(len(files[name]["sha256"]) == 64 for name in frames)


def test_a_frame_file_edited_at_the_same_size_is_rendered_again(cache, reference, capfd):
    cfg = tiny_config(*CACHE_SETTINGS)
    root = synthetic_dataset(cfg, True, QUIET)
    edit_in_place(root / "P02" / "frames.npy")
    capfd.readouterr()
    assert synthetic_dataset(cfg, True, QUIET) == root
    lines = capfd.readouterr().err.strip().splitlines()
    assert lines == [f"synthetic data cache {root}: P02/frames.npy does not match its checksum (changed since it was "
                     "written); generating the entry again"]
    assert_same_files(root, reference)
    assert entry_problem(root, frames=True) is None


def test_a_use_without_frames_does_not_hash_them(cache, capfd):
    cfg = tiny_config(*CACHE_SETTINGS)
    root = synthetic_dataset(cfg, True, QUIET)
    edit_in_place(root / "P01" / "frames.npy")
    capfd.readouterr()
    assert synthetic_dataset(cfg, False, QUIET) == root and capfd.readouterr().err == ""
    assert entry_problem(root, frames=False) is None
    assert entry_problem(root, frames=True) == "P01/frames.npy does not match its checksum (changed since it was written)"


def test_an_entry_recorded_without_frame_checksums_is_generated_again(cache, reference, capfd):
    cfg = tiny_config(*CACHE_SETTINGS)
    root = synthetic_dataset(cfg, True, QUIET)
    record = json.loads((root / CACHE_RECORD).read_text())
    for name, entry in record["files"].items():
        if name.endswith(".npy"):
            del entry["sha256"]  # as privbench wrote it before frame checksums
    (root / CACHE_RECORD).write_text(json.dumps(record))
    assert entry_problem(root, frames=False) is None
    capfd.readouterr()
    synthetic_dataset(cfg, True, QUIET)
    assert "no checksum recorded for P01/frames.npy (cached by an older privbench)" in capfd.readouterr().err
    assert_same_files(root, reference)
