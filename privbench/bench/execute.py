"""One job run into its store folder: what every backend (inline, processes, Ray) calls."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from privbench.bench.jobs import Job
from privbench.bench.store import Store
from privbench.errors import InputError, one_line
from privbench.io import OutputBusy, OutputExists

if TYPE_CHECKING:
    from privbench.progress import Progress

Status = Literal["complete", "failed", "busy"]


@dataclass(frozen=True)
class Finished:
    """What became of a job: complete, failed (with its one-line error) or busy (another process has it)."""

    key: str
    status: Status
    seconds: float
    error: str = ""


def execute(job: Job, store_root: str, threads: int = 0) -> Finished:
    """Run ``job`` into its folder of the store at ``store_root``; never raises for the job's own failure.

    ``threads`` > 0 caps torch's threads (one of several jobs sharing the machine's cores)."""
    from privbench.progress import Progress

    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    store = Store(Path(store_root))
    started = time.perf_counter()
    labels = {"bench_key": job.key, "job": job.label, "similar": job.similar, "dataset_identity": job.dataset["id"],
              **job.axes}
    try:
        _run(job, store, labels, Progress(enabled=False))
    except (OutputBusy, OutputExists):  # another bench is running it, or finished it since we looked
        return Finished(job.key, "busy", time.perf_counter() - started)
    except Exception as err:  # noqa: BLE001  a job's failure is recorded; the others go on
        error = one_line(err) if isinstance(err, InputError) else f"{type(err).__name__}: {one_line(err)}"
        store.record_failure(job.key, job.label, error)
        return Finished(job.key, "failed", time.perf_counter() - started, error)
    store.clear_failure(job.key)
    return Finished(job.key, "complete", time.perf_counter() - started)


def _run(job: Job, store: Store, labels: dict[str, str], progress: Progress) -> None:
    out = store.folder(job.folder)
    if job.kind == "train":
        from privbench import experiment

        experiment.run(job.spec, out, progress, labels=labels)
        return
    from privbench.attacks import ATTACKS
    from privbench.attacks.runner import run_attack

    spec = job.spec
    if job.depends_on is not None:
        spec = dataclasses.replace(spec, from_run=str(store.folder(job.depends_on)))
    run_attack(spec, ATTACKS.get(spec.attack), out, progress, labels=labels)
