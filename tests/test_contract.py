"""The bad-input contract, property style: every command, fed each family of broken inputs, answers with
exit status 2, one line naming the file or option, no traceback, and nothing left behind.

Families: empty, header-only, truncated, non-finite, wrong type, wrong encoding, binary garbage,
unwritable output and a concurrent writer. Every (command, file, family) pair is one test case.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import pytest
from test_import_openface import openface_csv
from typer.testing import CliRunner

from privbench.cli import app
from privbench.io import OutputClaim

runner = CliRunner()
Breaker = Callable[[bytes], bytes]


def _replace_in_data_row(old: bytes, column: str, value: bytes) -> bytes:
    """Set ``column`` of the first data row to ``value`` (comma tables; padded names allowed)."""
    lines = old.split(b"\n")
    names = [n.strip() for n in lines[0].split(b",")]
    cells = lines[1].split(b",")
    cells[names.index(column.encode())] = value
    lines[1] = b",".join(cells)
    return b"\n".join(lines)


def text_families(column: str) -> dict[str, Breaker]:
    """Ways a numeric table can be broken; ``column`` is the numeric column to poison."""
    return {
        "empty": lambda old: b"",
        "header-only": lambda old: old.split(b"\n")[0] + b"\n",
        "truncated": lambda old: old[: len(old) // 2 - 3],  # mid-row: a short last row
        "inf": lambda old: _replace_in_data_row(old, column, b"inf"),
        "-inf": lambda old: _replace_in_data_row(old, column, b"-inf"),
        "nan-text": lambda old: _replace_in_data_row(old, column, b"nan"),
        "wrong-type": lambda old: _replace_in_data_row(old, column, b"abc"),
        "utf-16": lambda old: old.decode().encode("utf-16"),
        "binary": lambda old: bytes(range(256)) * 8,
    }


def npy_families() -> dict[str, Breaker]:
    return {
        "empty": lambda old: b"",
        "header-only": lambda old: old[:128],
        "truncated": lambda old: old[: len(old) // 2],
        "one-byte-short": lambda old: old[:-1],
        "binary": lambda old: bytes(range(256)) * 8,
    }


def json_families() -> dict[str, Breaker]:
    def changed(key: str, value: object) -> Breaker:
        return lambda old: json.dumps({**json.loads(old), key: value}).encode()

    return {
        "empty": lambda old: b"",
        "truncated": lambda old: old[: len(old) // 2],
        "wrong-type": changed("fps", "abc"),
        "non-positive": changed("fps", -25),
        "non-finite": lambda old: old.replace(b'"fps": 25.0', b'"fps": Infinity'),
        "binary": lambda old: bytes(range(256)) * 8,
    }


DATASET_CASES = [
    *[("P02/aus.csv", name, fn) for name, fn in text_families("AU12_r").items()],
    *[("P02/ratings.csv", name, fn) for name, fn in text_families("valence").items()],
    *[("P02/frames.npy", name, fn) for name, fn in npy_families().items()],
    *[("manifest.json", name, fn) for name, fn in json_families().items()],
    *[("participants.csv", name, text_families("age")[name]) for name in ("empty", "header-only", "binary")],
    ("P02/ratings.csv", "out-of-range", lambda old: _replace_in_data_row(old, "valence", b"1.5")),
]


def assert_contract(result, needle: str, folder: Path | None = None) -> None:
    """Exit 2, exactly one line (naming ``needle``), no traceback, no trace of ``folder``."""
    assert isinstance(result.exception, SystemExit), f"unexpected {result.exception!r}\n{result.output}"
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in result.output
    if folder is not None:
        assert not folder.exists()
        assert not [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]


@pytest.fixture()
def dataset_copy(tiny_dataset, tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(tiny_dataset, copy)
    return copy


def ids(case) -> str:
    return f"{case[0]}:{case[1]}"


@pytest.mark.parametrize("case", DATASET_CASES, ids=ids)
def test_validate_and_run_refuse_a_broken_dataset_file(dataset_copy, tmp_path, case):
    relative, _, damage = case
    path = dataset_copy / relative
    path.write_bytes(damage(path.read_bytes()))
    assert_contract(runner.invoke(app, ["data", "validate", str(dataset_copy)]), relative)
    method = "central" if relative.endswith(".npy") else "au"
    out = tmp_path / "result"
    result = runner.invoke(app, ["run", "--method", method, "--profile", "quick", "--folds", "2", "--no-progress",
                                 "--data", str(dataset_copy), "--out", str(out)])
    assert_contract(result, relative, out)


OPENFACE_CASES = list(text_families("AU12_r").items())


@pytest.mark.parametrize("family, damage", OPENFACE_CASES, ids=[c[0] for c in OPENFACE_CASES])
def test_import_openface_refuses_a_broken_csv(tmp_path, family, damage):
    good, bad = tmp_path / "P1.csv", tmp_path / "P2.csv"
    openface_csv(good, old=False)
    openface_csv(bad, old=False, seed=1)
    bad.write_bytes(damage(bad.read_bytes()))
    out = tmp_path / "imported"
    result = runner.invoke(app, ["data", "import-openface", str(good), str(bad), "--out", str(out), "--no-progress"])
    assert_contract(result, "P2.csv", out)


UNWRITABLE = ["/proc/privbench-out", "/dev/null/out"]


@pytest.mark.parametrize("where", UNWRITABLE)
@pytest.mark.parametrize("command", [
    ["run", "--method", "au", "--profile", "quick", "--no-progress", "--folds", "2"],
    ["data", "synth", "--profile", "quick"],
], ids=["run", "synth"])
def test_an_unwritable_output_is_refused_before_any_work(tmp_path, monkeypatch, command, where):
    monkeypatch.setenv("PRIVBENCH_CACHE", str(tmp_path / "cache"))
    result = runner.invoke(app, [*command, "--out", where])
    assert_contract(result, str(Path(where).parent))
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("command", [
    ["run", "--method", "au", "--profile", "quick", "--no-progress", "--folds", "2"],
    ["data", "synth", "--profile", "quick"],
], ids=["run", "synth"])
def test_a_concurrent_writer_is_refused_at_once(tmp_path, monkeypatch, command):
    monkeypatch.setenv("PRIVBENCH_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "busy"
    claim = OutputClaim(out)
    try:
        result = runner.invoke(app, [*command, "--out", str(out)])
        assert isinstance(result.exception, SystemExit) and result.exit_code == 2, result.output
        assert f"another privbench process (pid {os.getpid()})" in result.output
        assert not (tmp_path / "cache").exists()
    finally:
        claim.abandon()
    assert not out.exists()


@pytest.mark.parametrize("args, needle", [
    (["run", "--format", "xml"], "--format"),
    (["run", "--folds", "many"], "--folds"),
    (["run", "--set", "lr=nan"], "lr"),
    (["run", "--set", "data.seconds=-1"], "data.seconds"),
    (["run", "--set", "batch_size=2.5"], "batch_size"),
    (["list", "extra"], "extra"),
    (["data", "validate"], "FOLDER"),
])
def test_an_impossible_option_is_one_line(tmp_path, args, needle):
    out = tmp_path / "r"
    extra = ["--out", str(out)] if args[0] == "run" else []
    assert_contract(runner.invoke(app, [*args, *extra]), needle, out if extra else None)
