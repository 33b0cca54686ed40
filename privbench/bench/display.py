"""The bench's live display on stderr: the whole matrix, each running job, failures so far."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from privbench.bench.estimate import describe_seconds
from privbench.bench.jobs import Job


class Display:
    """Rich progress bars (silent when disabled): one for the matrix, one per running job."""

    def __init__(self, jobs: list[Job], estimates: dict[str, float | None], *, enabled: bool) -> None:
        self.estimates = estimates
        self.counts = {"complete": 0, "skipped": 0, "failed": 0}
        self.running: dict[str, TaskID] = {}
        self.console = Console(stderr=True)
        self.bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                             console=self.console, disable=not enabled)
        self.total = self.bars.add_task(self._summary(), total=len(jobs))

    def __enter__(self) -> Display:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def start(self, job: Job) -> None:
        guess = self.estimates.get(job.key)
        hint = f" (~{describe_seconds(guess)})" if guess is not None else ""
        self.running[job.key] = self.bars.add_task(f"  {job.label}{hint}", total=None)
        self.bars.update(self.total, description=self._summary())

    def finish(self, job: Job, status: str, error: str = "") -> None:
        task = self.running.pop(job.key, None)
        if task is not None:
            self.bars.remove_task(task)
        if status in self.counts:
            self.counts[status] += 1
            self.bars.advance(self.total)
        if status == "failed":
            self.bars.console.print(f"[red]failed[/red] {job.label}: {error}", highlight=False)
        self.bars.update(self.total, description=self._summary())

    def _summary(self) -> str:
        c = self.counts
        return (f"bench · {c['complete']} run, {c['skipped']} already done, {len(self.running)} running, "
                f"[{'red' if c['failed'] else 'default'}]{c['failed']} failed[/]")
