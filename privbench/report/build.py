"""``build_report``: read stores and result folders, write report.md, report.html, tables as CSV and plots
as PNG into one folder, atomically. An existing folder is replaced only once the new report is complete,
and only when it is a privbench report itself (``report.json``): never a result, a store or anything else."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from privbench.errors import InputError
from privbench.io import atomic_dir, write_json
from privbench.report.document import Document, Figure, Section
from privbench.report.findings import Finding
from privbench.report.html import html
from privbench.report.inputs import Collection, collect, is_store
from privbench.report.markdown import markdown
from privbench.report.sections import document
from privbench.results import now

MARKER = "report.json"
REPORT_FORMAT = "privbench-report"


@dataclass(frozen=True)
class Written:
    """What ``build_report`` wrote: the folder, its report.html, the inputs read and the findings stated."""

    folder: Path
    html: Path
    found: Collection
    findings: tuple[Finding, ...]


def default_out(inputs: list[Path]) -> Path:
    """``<store>/report`` when the first input is a store, else ``report`` here."""
    return inputs[0] / "report" if inputs and is_store(inputs[0]) else Path("report")


def _check_out(out: Path, found: Collection) -> None:
    """Refuse an output that would replace or sit inside what the report reads."""
    target = out.resolve()
    for folder in found.folders:
        if target == folder.path.resolve() or folder.path.resolve() in target.parents:
            raise InputError(f"{out}: inside the result folder {folder.path}; choose another --out")
    for store in found.stores:
        inside = [store.resolve() / name for name in ("runs", "failed", "store.json")]
        if target == store.resolve() or any(t == target or t in target.parents for t in inside):
            raise InputError(f"{out}: would replace or sit among the store {store}'s own files; choose another --out")


def _replaceable(out: Path) -> None:
    """An existing non-empty ``out`` must be an earlier privbench report."""
    if not out.is_dir() or not any(out.iterdir()):
        return
    try:
        marker = json.loads((out / MARKER).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        marker = None
    if not isinstance(marker, dict) or marker.get("format") != REPORT_FORMAT:
        raise InputError(f"{out}: already exists and is not a privbench report (no {MARKER}); nothing was written, "
                         "choose another --out")


def _unique_figures(doc: Document) -> Document:
    """Give figures of the same name (two folders' reconstructions) distinct file names."""
    seen: dict[str, int] = {}

    def rename(block):
        if not isinstance(block, Figure):
            return block
        seen[block.name] = seen.get(block.name, 0) + 1
        return block if seen[block.name] == 1 else replace(block, name=f"{block.name}-{seen[block.name]}")

    return replace(doc, sections=tuple(Section(s.title, tuple(rename(b) for b in s.blocks)) for s in doc.sections))


def _title(found: Collection) -> str:
    if found.stores:
        return "privbench report: " + ", ".join(s.resolve().name for s in found.stores)
    return f"privbench report: {len(found.folders)} result folder(s)"


def write(doc: Document, work: Path, inputs: list[Path]) -> None:
    """Every file of the report into the work folder ``work``; the marker last."""
    for table in doc.tables:
        table.data.to_csv(work / f"{table.name}.csv", index=False)
    for figure in doc.figures:
        (work / f"{figure.name}.png").write_bytes(figure.png)
    (work / "report.md").write_text(markdown(doc))
    (work / "report.html").write_text(html(doc))
    write_json(work / MARKER, {"format": REPORT_FORMAT, "version": 1, "written": now(),
                               "inputs": [str(p.resolve()) for p in inputs]})


def build_report(inputs: list[Path], out: Path | None = None) -> Written:
    """Read ``inputs`` (stores or result folders) and write the report to ``out`` (default ``default_out``)."""
    found = collect(inputs)
    out = Path(out) if out is not None else default_out(inputs)
    _check_out(out, found)
    doc, judged = document(found, _title(found))
    doc = _unique_figures(doc)
    with atomic_dir(out, force=True) as work:
        _replaceable(out)  # checked under the claim's lock: no other report writer is between check and commit
        write(doc, work, inputs)
    return Written(out, out / "report.html", found, judged)
