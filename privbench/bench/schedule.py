"""The benchmark's scheduler: skip what the store holds, run what is ready (its run complete) on a
backend, record failures and let the rest go on, wait for jobs another bench is running."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from privbench.bench.backends import Backend
from privbench.bench.display import Display
from privbench.bench.execute import Finished
from privbench.bench.jobs import Job
from privbench.bench.store import Store

POLL_SECONDS = 2.0


@dataclass
class Outcome:
    """Each job's status at the end: skipped (complete before), complete, or failed with its error."""

    status: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(1 for s in self.status.values() if s == status)


def run_jobs(jobs: list[Job], store: Store, backend: Backend, display: Display) -> Outcome:
    """Run every job of ``jobs`` that the store does not hold yet; dependents wait for their run."""
    outcome = Outcome()
    todo: list[Job] = []
    for job in jobs:
        if store.is_complete(job.folder):
            outcome.status[job.key] = "skipped"
            display.finish(job, "skipped")
        else:
            todo.append(job)
    by_folder = {job.folder: job for job in jobs}
    running: dict[str, Job] = {}
    elsewhere: dict[str, Job] = {}
    while todo or running or elsewhere:
        _start_ready(todo, running, by_folder, outcome, store, backend, display)
        if running:
            for finished in backend.wait(POLL_SECONDS):
                _settle(running.pop(finished.key), finished, outcome, elsewhere, display)
        elif elsewhere or todo:
            time.sleep(POLL_SECONDS)
        _check_elsewhere(elsewhere, todo, store, outcome, display)
    return outcome


def _start_ready(todo: list[Job], running: dict[str, Job], by_folder: dict[str, Job], outcome: Outcome,
                 store: Store, backend: Backend, display: Display) -> None:
    for job in list(todo):
        run = by_folder.get(job.depends_on) if job.depends_on else None
        if run is not None and outcome.status.get(run.key) == "failed":
            error = f"not run: the run it attacks failed ({run.label})"
            store.record_failure(job.key, job.label, error)
            _settle(job, Finished(job.key, "failed", 0.0, error), outcome, {}, display)
            todo.remove(job)
        elif (run is None or outcome.status.get(run.key) in ("skipped", "complete")) and len(running) < backend.slots:
            todo.remove(job)
            running[job.key] = job
            display.start(job)
            backend.submit(job)


def _settle(job: Job, finished: Finished, outcome: Outcome, elsewhere: dict[str, Job], display: Display) -> None:
    if finished.status == "busy":
        elsewhere[job.key] = job
        display.finish(job, "elsewhere")
        return
    outcome.status[job.key] = finished.status
    outcome.seconds[job.key] = finished.seconds
    if finished.error:
        outcome.errors[job.key] = finished.error
    display.finish(job, finished.status, finished.error)


def _check_elsewhere(elsewhere: dict[str, Job], todo: list[Job], store: Store, outcome: Outcome,
                     display: Display) -> None:
    """A job another bench was running: taken as done once it is complete, run here if it was given up."""
    for key, job in list(elsewhere.items()):
        if store.held_elsewhere(job.folder):
            continue
        del elsewhere[key]
        if store.is_complete(job.folder):
            outcome.status[key] = "skipped"
            display.finish(job, "skipped")
        else:
            todo.append(job)
