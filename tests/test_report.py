"""``privbench report`` on a tiny benchmark store made by the real commands: tables equal the folders'
numbers, findings follow the rules, bad inputs are refused with nothing written, report.html is
self-contained and renders in a real browser (headless Chromium, where installed)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from privbench.cli import app
from privbench.report.findings import NOT_MEASURED, NOT_SUPPORTED, SUPPORTED, findings
from privbench.report.records import split_runs
from privbench.results import load_result

ARTIFACTS = Path(__file__).parent / "artifacts"  # git-ignored: the browser test's screenshot
DATA = ["--profile", "quick", "--set", "data.participants=6", "--no-progress"]
runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of real quick results: au (two seeds), central; reid and demographics on the raw AUs and on
    au's predictions; gradinv on a simulated round; a failed job and a running job's partial folder."""
    root = tmp_path_factory.mktemp("bench") / "store"
    runs = root / "runs"
    for seed in ("0", "1"):
        invoke("run", "--method", "au", "--rnn", "bigru", "--folds", "2", "--seed", seed, *DATA,
               "--out", str(runs / f"au-{seed}"))
    invoke("run", "--method", "central", "--rnn", "bigru", "--folds", "2", *DATA, "--set", "epochs=1",
           "--set", "warmup_steps=1", "--set", "input_size=16", "--set", "frame_step=25", "--out", str(runs / "central"))
    for attack in ("reid", "demographics"):
        invoke("attack", attack, *DATA, "--out", str(runs / f"{attack}-raw"))
        invoke("attack", attack, *DATA, "--from-run", str(runs / "au-0"), "--set", "release=predictions",
               "--out", str(runs / f"{attack}-predictions"))
    invoke("attack", "gradinv", *DATA, "--set", "iterations=30", "--set", "victims=2", "--out", str(runs / "gradinv"))
    (root / "store.json").write_text(json.dumps({"format": "privbench-store", "version": 1}))
    (root / "failed").mkdir()
    (root / "failed" / "k1.json").write_text(json.dumps(
        {"key": "k1", "job": "central/bilstm seed 1", "error": "fold 1 of 2: training diverged", "finished": "x"}))
    (runs / ".k2.partial").mkdir()
    return root


@pytest.fixture(scope="module")
def report(store: Path) -> Path:
    result = invoke("report", str(store))
    html = store / "report" / "report.html"
    assert result.stdout.strip().splitlines()[-1] == str(html)
    return store / "report"


def findings_table(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "findings.csv")


def verdict(folder: Path, claim: str) -> str:
    table = findings_table(folder)
    return table[table["claim"].str.startswith(claim)]["claim_verdict"].iloc[0]


def test_the_report_writes_markdown_html_tables_and_plots(report):
    names = {p.name for p in report.iterdir()}
    assert {"report.md", "report.html", "accuracy.csv", "efficiency.csv", "privacy.csv", "findings.csv", "runs.csv",
            "frontier.png", "ccc_folds.png", "efficiency.png", "segment_length.png"} <= names
    assert any(n.startswith("reconstructions-") and n.endswith(".png") for n in names)


def test_the_accuracy_table_is_the_mean_over_every_fold_of_every_seed(report, store):
    table = pd.read_csv(report / "accuracy.csv").set_index("method")
    for method, folders in (("au", ["au-0", "au-1"]), ("central", ["central"])):
        metrics = [json.loads((store / "runs" / f / "metrics.json").read_text()) for f in folders]
        for dim in ("valence", "arousal"):
            folds = [v for m in metrics for v in m["ccc"][dim]["folds"]]
            assert table.loc[method, f"ccc_{dim}_mean"] == pytest.approx(sum(folds) / len(folds))
        assert table.loc[method, "seeds"] == len(folders)
    assert table.loc["au", "paper_ccc_valence"] == pytest.approx(0.347)  # Table II, AUs BiGRU


def test_efficiency_holds_what_the_runs_measured_and_nothing_else(report, store):
    table = pd.read_csv(report / "efficiency.csv").set_index("method")
    measured = json.loads((store / "runs" / "central" / "metrics.json").read_text())["efficiency"]
    assert table.loc["central", "model_size_mb"] == pytest.approx(measured["model_size_mb"])
    assert "bytes_up" not in table.columns  # no federated run: the column is omitted, not faked


def test_identity_signal_refutes_the_au_claim_and_the_data_set_is_named(report):
    table = findings_table(report)
    top1 = table[(table["attack"] == "reid") & (table["metric"] == "top1")].iloc[0]
    assert top1["ci95_low"] > top1["baseline"] and top1["side"] == "above"
    assert verdict(report, "(1)") == NOT_SUPPORTED
    text = (report / "report.md").read_text()
    assert "reid top-1 from the raw AU release" in text and "refutes the claim" in text
    assert "identity_strength 1.0" in text and "paper" in text and "RECOLA" in text


def test_failed_jobs_and_partial_folders_are_listed(report):
    text = (report / "report.md").read_text()
    assert "central/bilstm seed 1" in text and "training diverged" in text
    assert ".k2.partial" in text


def edit_to_chance(metrics_path: Path, names: list[str]) -> None:
    """Put each metric at its baseline with an interval around it: what a null data set gives."""
    metrics = json.loads(metrics_path.read_text())
    for name in names:
        chance = metrics["baseline"][name]
        metrics["metrics"][name] = chance
        metrics["ci95"][name] = [max(chance - 0.1, 0.0), chance + 0.1]
    metrics_path.write_text(json.dumps(metrics))


def test_a_moved_store_whose_intervals_contain_chance_supports_the_au_claim(store, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(store / "runs", moved / "runs", ignore=shutil.ignore_patterns(".*"))
    shutil.copy(store / "store.json", moved)
    edit_to_chance(moved / "runs" / "reid-raw" / "metrics.json", ["top1"])
    demographics = moved / "runs" / "demographics-raw" / "metrics.json"
    edit_to_chance(demographics, [k for k in json.loads(demographics.read_text())["metrics"]
                                  if k.endswith("_balanced_accuracy") and "_window_" not in k])
    invoke("report", str(moved), "--out", str(tmp_path / "out"))
    assert verdict(tmp_path / "out", "(1)") == SUPPORTED
    privacy = pd.read_csv(tmp_path / "out" / "privacy.csv")
    linked = privacy[privacy["release"] == "predictions"]["target"]
    assert set(linked) == {"au/bigru"}  # from_run names the old store: linked by folder name


def test_verdicts_follow_the_interval_rules(store):
    folders = [load_result(store / "runs" / name) for name in ("au-0", "reid-raw", "gradinv")]
    _, attacks = split_runs(folders)
    reid = next(a for a in attacks if a.attack == "reid")
    for interval, expected in (((0.5, 0.9), NOT_SUPPORTED), ((0.0, 0.5), SUPPORTED), ((0.0, 0.05), SUPPORTED)):
        metrics = {**reid.folder.metrics, "ci95": {**reid.folder.metrics["ci95"], "top1": list(interval)}}
        edited = split_runs([dataclasses.replace(reid.folder, metrics=metrics)])[1]
        identity = findings(edited)[0].parts[0]
        assert identity.verdict == expected, interval
    assert findings([])[0].verdict == NOT_MEASURED and findings([])[1].verdict == NOT_MEASURED


def refused(tmp_path: Path, *args: str) -> str:
    out = tmp_path / "out"
    result = runner.invoke(app, ["report", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert not out.exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_foreign_folder_an_empty_folder_and_another_store_version_are_refused(tmp_path):
    foreign, empty, newer = tmp_path / "foreign", tmp_path / "empty", tmp_path / "newer"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not a result")
    empty.mkdir()
    (newer / "runs").mkdir(parents=True)
    (newer / "store.json").write_text(json.dumps({"format": "privbench-store", "version": 2}))
    for path, needle in ((foreign, "neither a benchmark store"), (empty, "empty folder"), (newer, "version 2"),
                         (tmp_path / "absent", "no such folder")):
        line = refused(tmp_path, str(path))
        assert str(path) in line and needle in line, line
    assert not (newer / "report").exists()


def test_a_store_without_results_is_refused(tmp_path):
    store = tmp_path / "bare"
    (store / "failed").mkdir(parents=True)
    (store / "store.json").write_text(json.dumps({"format": "privbench-store", "version": 1}))
    (store / "failed" / "a.json").write_text(json.dumps({"key": "a", "job": "au", "error": "boom", "finished": ""}))
    line = refused(tmp_path, str(store))
    assert str(store) in line and "no complete result folder" in line


def test_a_folder_that_is_not_a_report_is_never_replaced(store, tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "results.txt").write_text("a finished result")
    result = runner.invoke(app, ["report", str(store / "runs" / "au-0"), "--out", str(keep)])
    assert result.exit_code == 2 and "not a privbench report" in result.stderr
    assert [p.name for p in keep.iterdir()] == ["results.txt"]
    inside = runner.invoke(app, ["report", str(store), "--out", str(store / "runs" / "x")])
    assert inside.exit_code == 2 and not (store / "runs" / "x").exists()


def test_an_earlier_report_is_replaced(report, store):
    (report / "stale.txt").write_text("from an earlier report")
    invoke("report", str(store))
    assert not (report / "stale.txt").exists() and (report / "report.html").is_file()


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "img":
            self.images.append(found.get("src") or "")
        self.links += [v or "" for k, v in attrs if k in ("href", "src") and tag != "img"]


def test_the_html_fetches_nothing_and_embeds_every_image(report):
    text = (report / "report.html").read_text()
    assert "http://" not in text and "https://" not in text
    parsed = _References()
    parsed.feed(text)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "iframe" not in parsed.tags
    assert parsed.images and all(src.startswith("data:image/png;base64,") for src in parsed.images)
    assert all(link.startswith("#") for link in parsed.links), parsed.links


def _chromium():
    """A WebDriver session on Debian's Chromium (chromium, chromium-driver) via selenium; skip without them."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install "
                                                                 "'privbench[test]')")
    browser, driver = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
    if not (browser.exists() and driver.exists()):
        pytest.skip("no system browser: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = str(browser)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,2400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(driver)))


def test_report_html_renders_in_a_headless_browser(report):
    session = _chromium()
    try:
        session.get((report / "report.html").as_uri())
        images = session.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt]);")
        errors = [e for e in session.get_log("browser") if e["level"] == "SEVERE"]
        ARTIFACTS.mkdir(exist_ok=True)
        session.save_screenshot(str(ARTIFACTS / "report.png"))
    finally:
        session.quit()
    assert images and all(complete and width > 0 for complete, width, _ in images), images
    assert not errors, errors


def test_reconstructions_are_rebuilt_from_the_npz_without_the_png(store, tmp_path):
    folder = tmp_path / "gradinv"
    shutil.copytree(store / "runs" / "gradinv", folder)
    (folder / "reconstructions.png").unlink()
    invoke("report", str(folder), "--out", str(tmp_path / "out"))
    rebuilt = [p for p in (tmp_path / "out").iterdir() if p.name.startswith("reconstructions-")]
    assert len(rebuilt) == 1 and rebuilt[0].read_bytes().startswith(b"\x89PNG")


def test_a_dp_run_is_its_own_row_with_its_epsilon_and_the_budget_plot(store, tmp_path):
    """A DP-SGD run made by hand (no benchmark label) is reported apart from the undefended one, and the
    membership audits of both are in the privacy table and the audit plot."""
    dp = tmp_path / "dp"
    invoke("run", "--method", "au", "--rnn", "bigru", "--folds", "2", *DATA, "--dp-epsilon", "4", "--set", "epochs=2",
           "--out", str(dp))
    audits = {"none": store / "runs" / "au-0", "dp": dp}
    for name, run in audits.items():
        invoke("attack", "membership", "--profile", "quick", "--no-progress", "--from-run", str(run),
               "--out", str(tmp_path / f"mi-{name}"))  # the run's own data
    invoke("report", str(store / "runs" / "au-0"), str(dp), *(str(tmp_path / f"mi-{n}") for n in audits),
           "--out", str(tmp_path / "report"))
    table = pd.read_csv(tmp_path / "report" / "accuracy.csv").set_index("defence")
    spent = json.loads((dp / "metrics.json").read_text())["privacy"]["epsilon"]
    assert table.loc["dpsgd-window-e4", "epsilon"] == pytest.approx(spent) and spent <= 4
    assert table.loc["dpsgd-window-e4", "dp_unit"] == "window" and pd.isna(table.loc["none", "epsilon"])
    assert (tmp_path / "report" / "privacy_budget.png").stat().st_size > 10_000
    privacy = pd.read_csv(tmp_path / "report" / "privacy.csv")
    membership = privacy[privacy.attack == "membership"].set_index(["defence", "metric"])
    for name in audits:
        metrics = json.loads((tmp_path / f"mi-{name}" / "metrics.json").read_text())
        defence = "dpsgd-window-e4" if name == "dp" else "none"
        for metric in ("auc", "tpr_at_1fpr", "epsilon_lower_bound"):
            assert membership.loc[(defence, metric), "value"] == pytest.approx(metrics["metrics"][metric])
        assert membership.loc[(defence, "auc"), "baseline"] == 0.5
    assert (tmp_path / "report" / "membership_audit.png").stat().st_size > 10_000
