"""The command line answers at once: help, list and option errors import no torch and print one line.

Start-up is checked in fresh processes (this one has torch already); speed itself is measured by
benchmarks/cli_startup.py, not asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
import typing
from typing import Iterator

import click
import pytest
from typer.testing import CliRunner

from privbench.cli import app
from privbench.cli.app import INTERRUPTED
from privbench.errors import ConfigError
from privbench.methods import ENGINES, METHODS, RNNS
from privbench.registry import Registry

HEAVY = ("torch", "flwr", "pandas", "numpy")
runner = CliRunner()


def privbench(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point, as `privbench ARGS` runs it."""
    return subprocess.run([sys.executable, "-m", "privbench", *args], capture_output=True, text=True, timeout=120)


def heavy_modules_after(code: str) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["list"], ["list", "--format", "json"], ["run", "--help"],
                                  ["run", "--format", "xml"], ["data", "synth", "--help"]])
def test_help_list_and_option_errors_import_no_heavy_module(args):
    code = ("from privbench.cli import app\nfrom privbench.cli.listing import catalogue\ncatalogue()\n"
            f"try:\n    app({args!r})\nexcept SystemExit:\n    pass")
    assert heavy_modules_after(code) == []


def test_the_run_registries_describe_every_entry_without_importing_it():
    code = ("from privbench.methods import ENGINES, METHODS, RNNS\n"
            "assert all(r.describe(n) for r in (METHODS, RNNS, ENGINES) for n in r)")
    assert heavy_modules_after(code) == []


def test_every_declared_entry_resolves_and_the_engines_match_the_config_type():
    from privbench.settings import DeploymentSettings

    assert [METHODS.get(n).description for n in METHODS] == [d for _, d in METHODS.items()]
    assert [RNNS.get(n).bidirectional for n in RNNS] == [True, True, False]
    assert all(callable(ENGINES.get(n)) for n in ENGINES)
    assert typing.get_args(typing.get_type_hints(DeploymentSettings)["engine"]) == tuple(ENGINES)


@pytest.mark.parametrize(
    "args, names",
    [(["run", "--format", "xml"], "--format"), (["list", "extra"], "extra"), (["run", "--bogus"], "--bogus"),
     (["data", "synth"], "--out"), (["run", "--method", "fedavg", "--engine", "grid"], "grid")],
)
def test_option_errors_are_one_line_and_status_2(args, names):
    done = privbench(*args)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], done.stderr
    assert "╭" not in done.stderr and "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize("args", [[], ["--help"], ["data"], ["run", "--help"]])
def test_help_still_prints_and_exits_0(args):
    done = privbench(*args)
    assert done.returncode == 0 and "Usage" in done.stdout and done.stderr == "", done.stderr


def test_list_json_names_and_describes_everything():
    done = privbench("list", "--format", "json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert {kind: [e["name"] for e in entries] for kind, entries in listed.items()} == {
        "methods": ["au", "central", "fedavg"], "rnns": ["bigru", "bilstm", "rnn"],
        "engines": ["inprocess", "flower", "deployment"], "attacks": ["reid", "demographics", "gradinv", "membership"],
        "defences": ["none", *(f"dpsgd-{unit}-e{e}" for e in (1, 3, 8) for unit in ("window", "participant")),
                     *(f"dpfed-{mode}-e{e}" for e in (1, 3, 8) for mode in ("server", "client", "local")), "head",
                     *(name for e in (1, 3, 8) for name in (f"dpfed-dpsgd-e{e}", *(f"head-dpfed-{mode}-e{e}" for mode
                       in ("server", "client", "local", "dpsgd")))),
                     "secagg", *(f"secagg-dpfed-{mode}-e{e}" for e in (1, 3, 8) for mode in ("client", "local")),
                     "release-intensities", "release-zscore", *(f"release-noise-snr{v}" for v in ("3", "1", "0.3")),
                     *(f"release-ldp-e{v}" for v in (1000, 100, 10)), *(f"release-coarsen-{v}s" for v in (1, 4, 10)),
                     *(f"release-quantise-{v}levels" for v in (6, 3, 2)),
                     *(f"release-privatiser-w{v}" for v in ("0.3", "1", "3"))],
        "bench attacks": ["reid", "demographics", "gradinv", "reid_predictions", "demographics_predictions",
                          "gradinv_updates", "reid_release", "demographics_release", "membership"],
        "profiles": ["quick", "default", "paper"],
    }
    assert all(e["description"] for entries in listed.values() for e in entries)


@pytest.fixture
def widgets(tmp_path, monkeypatch) -> Iterator[Registry]:
    """A registry declaring ``a`` and ``b`` in a module not imported yet (it registers ``b`` itself), and ``c``."""
    registry = Registry("widget")
    monkeypatch.setitem(sys.modules, "privbench_test_widgets", types.SimpleNamespace(WIDGETS=registry))
    (tmp_path / "privbench_test_lazy.py").write_text(
        "from privbench_test_widgets import WIDGETS\nA = 'a'\nWIDGETS.register('b')('b')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.declare("a", "privbench_test_lazy:A", description="an attribute")
    registry.declare("b", "privbench_test_lazy", description="registered by its module")
    registry.register("c", description="registered at once")("c")
    yield registry
    sys.modules.pop("privbench_test_lazy", None)


def test_declared_entries_are_described_without_import_and_imported_on_first_get(widgets):
    assert widgets.items() == [("a", "an attribute"), ("b", "registered by its module"), ("c", "registered at once")]
    assert widgets.describe("b") == "registered by its module" and list(widgets) == ["a", "b", "c"] and "a" in widgets
    assert "privbench_test_lazy" not in sys.modules
    assert [widgets.get(n) for n in ("b", "a", "c")] == ["b", "a", "c"]
    assert "privbench_test_lazy" in sys.modules


@pytest.mark.parametrize("lookup", ["get", "describe"])
def test_an_unknown_name_lists_the_valid_ones(widgets, lookup):
    with pytest.raises(ConfigError, match=r"^unknown widget 'z'; valid: a, b, c$"):
        getattr(widgets, lookup)("z")
    assert "privbench_test_lazy" not in sys.modules


def test_a_name_is_added_once_and_a_declared_module_must_register_it(widgets):
    with pytest.raises(ValueError, match="declared twice"):
        widgets.declare("a", "privbench_test_lazy:A")
    with pytest.raises(ValueError, match="registered twice"):
        widgets.register("c")("again")
    widgets.declare("d", "privbench_test_lazy")
    with pytest.raises(LookupError, match="did not register widget 'd'"):
        widgets.get("d")
    with pytest.raises(ValueError, match="registered twice"):
        widgets.register("b")("again")


def _interrupt(error: type[BaseException]):
    def raise_(*args, **kwargs):
        raise error()

    return raise_


@pytest.mark.parametrize("error", [KeyboardInterrupt, click.exceptions.Abort])
def test_an_interrupted_run_is_one_line_and_status_130(monkeypatch, error):
    monkeypatch.setattr("privbench.cli.run.federated_assignments", _interrupt(error))
    result = runner.invoke(app, ["run", "--method", "au", "--no-progress"])
    assert result.exit_code == 130 and result.stderr.splitlines() == [INTERRUPTED], result.output
    assert result.stdout == ""


def test_an_interrupted_data_command_is_one_line_and_status_130(monkeypatch, tmp_path):
    monkeypatch.setattr("privbench.cli.data.profile_values", _interrupt(KeyboardInterrupt))
    result = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "synth")])
    assert result.exit_code == 130 and result.stderr.splitlines() == [INTERRUPTED], result.output
    assert not (tmp_path / "synth").exists()
