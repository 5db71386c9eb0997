"""Batched metric logging: a run's final metrics and a per-step history go to MLflow in a few
``log_batch`` requests (single ``log_metric`` calls are slow on a remote store); while
``start_run`` holds the run open, through its outbox (a server restart does not stop the job)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from artclf.tracking.outbox import PER_REQUEST, outbox_of
from artclf.tracking.retry import retry_locked


def log_batch(run_id: str, metrics: Iterable[Metric]) -> None:
    batch, box = list(metrics), outbox_of(run_id)
    if box is not None:
        box.put(metrics=batch)
        return
    client = MlflowClient()
    for start in range(0, len(batch), PER_REQUEST):
        retry_locked(client.log_batch, run_id, metrics=batch[start : start + PER_REQUEST])


def log_metrics(run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    """Log a dict of final metrics at ``step``."""
    now = int(time.time() * 1000)
    log_batch(run_id, (Metric(k, float(v), now, step) for k, v in metrics.items()))


def log_history(run_id: str, history: list[dict[str, float]], prefix: str = "") -> None:
    """Every step's values (``history[step] = {name: value}``) as ``<prefix><name>``."""
    now = int(time.time() * 1000)
    log_batch(
        run_id,
        (
            Metric(f"{prefix}{name}", float(value), now, step)
            for step, values in enumerate(history)
            for name, value in values.items()
        ),
    )
