"""The benchmark's scheduler: skip what the store holds, run what is ready (its run complete) on a
backend, record failures and let the rest go on, wait for jobs another bench is running."""

from __future__ import annotations

import time
from collections import Counter
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


def run_jobs(jobs: list[Job], store: Store, backend: Backend, display: Display, *,
             estimates: dict[str, float | None] | None = None) -> Outcome:
    """Run every job of ``jobs`` that the store does not hold yet; dependents wait for their run.
    ``estimates`` (seconds by job key) put the longest jobs first."""
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
        _start_ready(todo, running, by_folder, outcome, store, backend, display, estimates or {})
        if running:
            for finished in backend.wait(POLL_SECONDS):
                _settle(running.pop(finished.key), finished, outcome, elsewhere, display)
        elif elsewhere or todo:
            time.sleep(POLL_SECONDS)
        _check_elsewhere(elsewhere, todo, store, outcome, display)
    return outcome


def _start_ready(todo: list[Job], running: dict[str, Job], by_folder: dict[str, Job], outcome: Outcome,
                 store: Store, backend: Backend, display: Display, estimates: dict[str, float | None]) -> None:
    """Start ready jobs while slots are free: the runs most attacks wait for first (the critical path),
    then the longest measured; each with its share of the cores among the jobs that will run beside it
    (the last jobs to start share the cores among themselves alone)."""
    ready = []
    for job in list(todo):
        run = by_folder.get(job.depends_on) if job.depends_on else None
        if run is not None and outcome.status.get(run.key) == "failed":
            error = f"not run: the run it attacks failed ({run.label})"
            store.record_failure(job.key, job.label, error)
            _settle(job, Finished(job.key, "failed", 0.0, error), outcome, {}, display)
            todo.remove(job)
        elif run is None or outcome.status.get(run.key) in ("skipped", "complete"):
            ready.append(job)
    dependents = Counter(job.depends_on for job in todo if job.depends_on)
    ready.sort(key=lambda job: (-dependents[job.folder], -(estimates.get(job.key) or 0.0)))
    starting = ready[: max(0, backend.slots - len(running))]
    last = len(starting) == len(todo)  # nothing waits to start: the running jobs' cores free up soon
    sharing = len(starting) + (0 if last else len(running))
    share = max(1, backend.cores // max(1, sharing)) if backend.cores else 0
    for job in starting:
        todo.remove(job)
        running[job.key] = job
        display.start(job)
        backend.submit(job, share)


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
