"""Result folders, train and attack: writing them (``write``), what they must hold (``checks``), reading them back
(``load``) and what their metrics mean (``schema``)."""

from privbench.results.checks import check_labels
from privbench.results.load import ResultError, ResultFolder, load_result
from privbench.results.schema import METRICS, MetricSpec, direction
from privbench.results.write import git_commit, new_run_id, now, versions, write_result

__all__ = ["METRICS", "MetricSpec", "ResultError", "ResultFolder", "check_labels", "direction", "git_commit",
           "load_result", "new_run_id", "now", "versions", "write_result"]
