"""privbench bench: the matrix, the store's keys and skipping, failures, two benches on one store, Ray."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from privbench.cli import app
from privbench.errors import DatasetError
from privbench.results import load_result

runner = CliRunner()
TINY = {"data": "synthetic", "profile": "quick", "folds": 2, "device": "cpu", "seeds": [0], "methods": ["au"],
        "rnns": ["bigru"], "attacks": ["reid", "reid_predictions"],
        "set": ["data.participants=6"]}


def bench_file(tmp_path: Path, name: str = "tiny", **changes) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    return path


def bench(*args: str):
    return runner.invoke(app, ["bench", *args, "--no-progress"])


def counts(output: str) -> tuple[int, int, int]:
    """(run, already complete, failed) from the summary line."""
    found = re.search(r"(\d+) jobs: (\d+) run, (\d+) already complete, (\d+) failed", output)
    assert found, output
    return int(found[2]), int(found[3]), int(found[4])


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny matrix (au/bigru, reid on the AUs and on its predictions) run once into a store."""
    folder = tmp_path_factory.mktemp("bench")
    config = bench_file(folder)
    store = folder / "store"
    result = bench(str(config), "--out", str(store))
    assert result.exit_code == 0, result.output
    assert counts(result.output) == (3, 0, 0)
    assert result.output.strip().splitlines()[-1] == str(store)
    return config, store


def test_every_job_lands_in_the_store_as_a_result_folder_with_its_labels(tiny_store):
    _, store = tiny_store
    folders = {p.name: load_result(p) for p in (store / "runs").iterdir() if not p.name.startswith(".")}
    assert len(folders) == 3
    kinds = sorted((f.kind, f.labels["job"]) for f in folders.values())
    assert kinds == [("attack", "reid seed 0"), ("attack", "reid_predictions on au/bigru seed 0"),
                     ("train", "au/bigru seed 0")]
    attacked = next(f for f in folders.values() if f.labels["job"].startswith("reid_predictions"))
    assert Path(attacked.from_run).name.startswith("train-au-bigru-s0-")
    assert attacked.threat_model["release"] == "predictions"
    for name, folder in folders.items():
        assert name.endswith(folder.labels["bench_key"][:12])
        assert folder.labels["dataset_identity"].startswith("synthetic-")


def test_a_rerun_skips_every_complete_job_and_the_dry_run_says_so(tiny_store):
    config, store = tiny_store
    result = bench(str(config), "--out", str(store))
    assert result.exit_code == 0, result.output
    assert counts(result.output) == (0, 3, 0)
    plan = runner.invoke(app, ["bench", str(config), "--out", str(store), "--dry-run", "--format", "json"])
    assert plan.exit_code == 0, plan.output
    rows = json.loads(plan.output)["jobs"]
    assert [r["status"] for r in rows] == ["complete"] * 3


def test_a_changed_setting_runs_only_the_jobs_it_changes(tiny_store, tmp_path):
    config, store = tiny_store
    changed = bench_file(tmp_path, set_reid=["bootstrap=150"])
    plan = runner.invoke(app, ["bench", str(changed), "--out", str(store), "--dry-run", "--format", "json"])
    statuses = {r["job"]: r["status"] for r in json.loads(plan.output)["jobs"]}
    assert statuses == {"au/bigru seed 0": "complete", "reid seed 0": "to run",
                        "reid_predictions on au/bigru seed 0": "complete"}


def test_the_dry_run_estimates_from_measured_jobs_and_writes_nothing(tiny_store, tmp_path):
    _, store = tiny_store
    two_seeds = bench_file(tmp_path, seeds=[0, 1])
    plan = runner.invoke(app, ["bench", str(two_seeds), "--out", str(store), "--dry-run", "--format", "json"])
    rows = {r["job"]: r for r in json.loads(plan.output)["jobs"]}
    assert rows["au/bigru seed 1"]["status"] == "to run"
    assert rows["au/bigru seed 1"]["estimate_seconds"] > 0  # measured on seed 0
    fresh = tmp_path / "never"
    assert runner.invoke(app, ["bench", str(two_seeds), "--out", str(fresh), "--dry-run"]).exit_code == 0
    assert not fresh.exists()


def test_a_failed_job_is_recorded_the_others_go_on_and_a_rerun_retries_it(tmp_path):
    config = bench_file(tmp_path, set_reid=["reference_seconds=500"])  # longer than a 60 s session
    store = tmp_path / "store"
    result = bench(str(config), "--out", str(store))
    assert result.exit_code == 1, result.output
    assert counts(result.output) == (2, 0, 1)
    records = [json.loads(p.read_text()) for p in (store / "failed").glob("*.json")]
    assert [r["job"] for r in records] == ["reid seed 0"]
    assert "\n" not in records[0]["error"] and records[0]["error"]
    again = bench(str(config), "--out", str(store))
    assert counts(again.output) == (0, 2, 1)


def test_the_attacks_of_a_failed_run_are_not_run(tmp_path):
    from privbench.bench.execute import Finished
    from privbench.bench.jobs import Job
    from privbench.bench.schedule import run_jobs
    from privbench.bench.store import Store

    class FailingTrains:
        slots = 2
        submitted: list[str] = []

        cores = 0

        def submit(self, job, threads):
            self.submitted.append(job.label)
            self.pending = job

        def wait(self, timeout):
            job, self.pending = self.pending, None
            return [Finished(job.key, "failed", 0.1, "diverged")] if job else []

        def close(self):
            pass

    class Quiet:
        def start(self, job):
            pass

        def finish(self, job, status, error=""):
            pass

    train = Job(key="a" * 64, kind="train", label="au/rnn seed 0", axes={"method": "au"}, spec=None)
    attack = Job(key="b" * 64, kind="attack", label="reid_predictions on au/rnn seed 0", axes={"target": "x"},
                 spec=None, depends_on=train.folder)
    store = Store.open(tmp_path / "store", create=True)
    backend = FailingTrains()
    outcome = run_jobs([train, attack], store, backend, Quiet())
    assert backend.submitted == ["au/rnn seed 0"]
    assert outcome.status == {train.key: "failed", attack.key: "failed"}
    assert "the run it attacks failed" in store.failure(attack.key)


def test_a_job_held_by_another_bench_is_waited_for_not_run_twice(tiny_store, monkeypatch, tmp_path):
    """While another process holds a job's folder claim, the bench does not run it; once that process
    leaves the job complete, the bench counts it as done and runs what depends on it."""
    import shutil
    import threading

    from privbench.bench import schedule
    from privbench.bench.backends import InlineBackend
    from privbench.bench.jobs import expand
    from privbench.bench.matrix import load_bench
    from privbench.bench.store import Store

    monkeypatch.setattr(schedule, "POLL_SECONDS", 0.05)
    config, done = tiny_store
    jobs = expand(load_bench(config))
    train = jobs[0]
    store = Store.open(tmp_path / "store", create=True)
    lock = store.runs / f".{train.folder}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "another bench" is running the train job

    def the_other_bench_finishes() -> None:
        shutil.copytree(done / "runs" / train.folder, store.folder(train.folder))
        os.unlink(lock)
        os.close(fd)

    threading.Timer(1.0, the_other_bench_finishes).start()
    quiet = type("Quiet", (), {"start": lambda self, job: None, "finish": lambda self, job, status, error="": None})()
    outcome = schedule.run_jobs(jobs, store, InlineBackend(str(store.root)), quiet)
    assert outcome.status[train.key] == "skipped"
    assert outcome.count("complete") == 2
    assert load_result(store.folder(train.folder)).labels["bench_key"] == train.key


@pytest.mark.slow
def test_two_benches_on_one_store_run_each_job_once_with_worker_processes(tmp_path):
    config = bench_file(tmp_path, seeds=[0, 1])
    store = tmp_path / "store"
    command = [sys.executable, "-m", "privbench", "bench", str(config), "--out", str(store), "--no-progress"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen([*command, "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env=env)
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    first_output = first.communicate(timeout=600)[0]
    assert first.returncode == 0 and second.returncode == 0, first_output + second.stdout + second.stderr
    ran = counts(first_output)[0] + counts(second.stdout)[0]
    assert ran == 6, first_output + second.stdout  # each of the six jobs run by exactly one bench
    assert len([p for p in (store / "runs").iterdir() if not p.name.startswith(".")]) == 6


@pytest.mark.slow
def test_a_matrix_on_a_local_ray_instance_then_a_rerun_skips_every_job(tmp_path):
    config = bench_file(tmp_path)
    store = tmp_path / "store"
    command = [sys.executable, "-m", "privbench", "bench", str(config), "--out", str(store), "--no-progress"]
    on_ray = subprocess.run([*command, "--ray", "local", "--jobs", "2"], capture_output=True, text=True, timeout=600)
    assert on_ray.returncode == 0, on_ray.stdout + on_ray.stderr
    assert counts(on_ray.stdout) == (3, 0, 0)
    rerun = bench(str(config), "--out", str(store))
    assert counts(rerun.output) == (0, 3, 0)


def refused(*args: str) -> str:
    result = runner.invoke(app, ["bench", *args, "--no-progress"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.parametrize("change, needle", [
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"methods": ["au", "cnn"]}, "unknown method 'cnn'"),
    ({"rnns": ["gru"]}, "unknown rnn 'gru'"),
    ({"attacks": ["inversion"]}, "unknown bench attack 'inversion'"),
    ({"defences": ["dp"]}, "unknown defence 'dp'"),
    ({"seeds": {"a": 1}}, "one level"),
    ({"set_au": ["data.participants=4"]}, "data.KEY belongs in `set`"),
    ({"set_cnn": ["lr=1"]}, "neither a method"),
    ({"profile": "fast"}, "unknown profile 'fast'"),
    ({"set": ["lr=-1"]}, "lr"),
    ({"attacks": ["gradinv_updates"]}, "attacks runs of fedavg"),
])
def test_a_bad_config_is_one_line_and_writes_nothing(tmp_path, change, needle):
    config = bench_file(tmp_path, **change)
    store = tmp_path / "store"
    line = refused(str(config), "--out", str(store))
    assert needle in line
    assert not store.exists()


def test_a_store_of_another_version_or_a_foreign_folder_is_refused_untouched(tmp_path):
    config = bench_file(tmp_path)
    old = tmp_path / "old"
    old.mkdir()
    (old / "store.json").write_text(json.dumps({"format": "privbench-store", "version": 2}))
    assert "store version 2" in refused(str(config), "--out", str(old))
    assert sorted(p.name for p in old.iterdir()) == ["store.json"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert "not a privbench store" in refused(str(config), "--out", str(foreign))
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_an_unreachable_ray_address_is_one_line_before_any_store(tmp_path):
    config = bench_file(tmp_path)
    store = tmp_path / "store"
    assert "no Ray cluster reachable" in refused(str(config), "--out", str(store), "--ray", "127.0.0.1:9")
    assert "expected HOST:PORT" in refused(str(config), "--out", str(store), "--ray", "nowhere")
    assert not store.exists()


def test_a_missing_config_names_the_packaged_ones(tmp_path):
    message = refused(str(tmp_path / "none.yaml"))
    listed = message.split("packaged: ")[1].rstrip(")\n").split(", ")
    assert {"quick", "default", "paper", "dp", "dp-central", "dp-membership", "release", "release-half"} <= set(listed)
    assert listed == sorted(listed)


def test_the_packaged_configs_expand():
    from privbench.bench.jobs import expand
    from privbench.bench.matrix import load_bench
    from privbench.cli.bench import config_path

    names = ("quick", "default", "dp", "dp-membership", "release")
    sizes = {name: len(expand(load_bench(config_path(name)))) for name in names}
    # quick: 3 runs, 3 data attacks, 3 x 2 prediction attacks, 1 on captured updates; default: x 3 heads x 3 seeds;
    # dp: no defence and six DP-SGD settings of au, each run's predictions attacked (dp-membership: its fold models);
    # release: no transform and 17 transforms at their strengths, each run's release attacked twice, its predictions once
    assert sizes == {"quick": 13, "default": 27 + 9 + 27 * 2 + 9, "dp": 7 + 7, "dp-membership": 7 + 7,
                     "release": 18 + 18 * 3}


def test_a_data_folder_identity_changes_with_its_files(tiny_dataset, tmp_path):
    import shutil

    from privbench.bench.identity import dataset_identity

    copy = tmp_path / "copy"
    shutil.copytree(tiny_dataset, copy)
    before = dataset_identity(str(copy), None)["id"]
    assert dataset_identity(str(copy), None)["id"] == before
    table = next(copy.glob("*/aus.csv"))
    table.write_text(table.read_text() + "\n")
    assert dataset_identity(str(copy), None)["id"] != before
    with pytest.raises(DatasetError, match="no such dataset folder"):
        dataset_identity(str(tmp_path / "absent"), None)


@pytest.mark.slow
def test_the_quick_benchmark_runs_every_method_and_attack_and_reports_them(tmp_path):
    """`privbench bench quick` (what CI uses): 13 jobs complete, then one report over all of them."""
    store = tmp_path / "quick"
    result = bench("quick", "--out", str(store))
    assert result.exit_code == 0, result.output
    assert counts(result.output) == (13, 0, 0)
    folders = [load_result(p) for p in (store / "runs").iterdir() if not p.name.startswith(".")]
    assert sorted(f.name for f in folders if f.kind == "train") == ["au", "central", "fedavg"]
    assert sorted(f.labels["target"] for f in folders if f.kind == "attack") == sorted(
        ["reid", "demographics", "gradinv", *["reid_predictions"] * 3, *["demographics_predictions"] * 3,
         "gradinv_updates"])
    report = runner.invoke(app, ["report", str(store)])
    assert report.exit_code == 0, report.output
    html = Path(report.output.strip().splitlines()[-1])
    assert html == store / "report" / "report.html" and html.stat().st_size > 10_000
    assert "Claim (1)" in report.output and "Claim (2)" in report.output
