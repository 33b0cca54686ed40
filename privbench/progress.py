"""Progress bars for long work (rich, on stderr); silent when disabled (library use, tests), but for notes."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    """Nested progress bars; every method is a no-op when ``enabled`` is False."""

    def __init__(self, enabled: bool = True) -> None:
        self._bars = (
            RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True,
            )
            if enabled
            else None
        )

    def __enter__(self) -> Progress:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bars is not None:
            self._bars.stop()

    def add(self, description: str, total: int) -> int:
        return self._bars.add_task(description, total=total) if self._bars is not None else -1

    def advance(self, task: int, description: str | None = None, *, steps: int = 1) -> None:
        if self._bars is not None:
            self._bars.update(task, advance=steps, **({"description": description} if description else {}))

    def remove(self, task: int) -> None:
        if self._bars is not None:
            self._bars.remove_task(task)

    def note(self, message: str) -> None:
        """One line on stderr, also when the bars are disabled: something the user should know (data
        regenerated, ...), printed above the bars when they show."""
        if self._bars is not None:
            self._bars.console.print(message, highlight=False, markup=False, soft_wrap=True)
        else:
            print(message, file=sys.stderr, flush=True)
