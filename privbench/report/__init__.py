"""The report: tables, plots and findings from result folders and benchmark stores, as Markdown and
self-contained HTML. It reads result folders only (``privbench.results.load_result``)."""

from privbench.report.build import Written, build_report, default_out
from privbench.report.inputs import Collection, FailedJob, Skipped, collect

__all__ = ["Collection", "FailedJob", "Skipped", "Written", "build_report", "collect", "default_out"]
