"""What the rest of a bench will cost, from the measured wall time of similar jobs in the store."""

from __future__ import annotations

import statistics

from privbench.bench.jobs import Job


def estimates(jobs: list[Job], measured: dict[str, list[float]]) -> dict[str, float | None]:
    """Each job's estimated seconds: the median of complete jobs like it (same kind, method or attack
    target, profile); None where the store has none."""
    return {job.key: statistics.median(measured[job.similar]) if measured.get(job.similar) else None for job in jobs}


def describe_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"
