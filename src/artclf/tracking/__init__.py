"""MLflow, and nothing above it: one run per job, sweep parents, params, tags, artifacts, queries,
the registry, the store and the team server."""

from artclf.tracking.metrics import log_metrics
from artclf.tracking.runs import run_name, start_run

__all__ = ["log_metrics", "run_name", "start_run"]
