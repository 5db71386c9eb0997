"""MLflow tracking: one run per Hydra job, sweep parents, params, tags and artifacts."""

from artclf.tracking.metrics import log_metrics
from artclf.tracking.runs import run_name, start_run

__all__ = ["log_metrics", "run_name", "start_run"]
