"""Reading the tracking store for the commands outside ``tracking`` (report, app, stylize,
tune): a client pointed at the configured store, a run by id or None, a sweep's children, a
metric's history, a run's artifacts, the store's errors as one-line user errors. They hold
the ``Run`` and ``Client`` values these return and call nothing of MLflow's themselves."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import mlflow
import pandas as pd
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient as Client

__all__ = [
    "PARENT_TAG",
    "Client",
    "Run",
    "child_runs",
    "connect",
    "copy_artifact",
    "experiment_names",
    "experiment_runs",
    "find_run",
    "matching",
    "metric_values",
    "or_user_error",
]

PARENT_TAG = "mlflow.parentRunId"  # a sweep child's (or a study trial's) parent run
T = TypeVar("T")


def connect(uri: str | None = None) -> Client:
    """A client of the store at ``uri``; this process's other tracking calls (and
    ``models:/`` URIs) then use that store too. None keeps the current one."""
    from artclf.tracking.store import ensure_store

    if uri:
        mlflow.set_tracking_uri(str(uri))
    ensure_store(mlflow.get_tracking_uri())  # once per process: built, repaired, stale closed
    return Client()


def find_run(client: Client, run_id: str) -> Run | None:
    """The run, or None when this store does not hold it."""
    try:
        return client.get_run(run_id)
    except MlflowException:
        return None


def or_user_error(hint: str, fn: Callable[..., T], *args) -> T:
    """``fn(*args)``; a store error (a run id the store does not know) becomes a one-line
    ValueError ending with ``hint``."""
    try:
        return fn(*args)
    except MlflowException as error:
        raise ValueError(f"{error.message.splitlines()[0]}; {hint}") from None


def child_runs(client: Client, parent_id: str, run_name: str | None = None) -> list[Run]:
    """The runs under ``parent_id`` (a sweep's jobs, a study's trials); only the one called
    ``run_name`` when given."""
    experiment_id = client.get_run(parent_id).info.experiment_id
    query = f"tags.{PARENT_TAG} = '{parent_id}'"
    if run_name is not None:
        query += f" and attributes.run_name = '{run_name}'"
    return client.search_runs([experiment_id], query)


def matching(client: Client, runs: list[Run], filter_string: str | None) -> list[Run]:
    """The runs that also match an MLflow search filter (``params.`data.cv.folds` = '5'``)."""
    if not filter_string:
        return runs
    experiments = sorted({r.info.experiment_id for r in runs})
    kept = {r.info.run_id for r in client.search_runs(experiments, filter_string)}
    return [r for r in runs if r.info.run_id in kept]


def metric_values(client: Client, run_id: str, key: str) -> list[float]:
    """Every logged value of ``key`` in step order (an epoch's series)."""
    history = sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)
    return [m.value for m in history]


def copy_artifact(client: Client, run_id: str, path: str, target: Path) -> bool:
    """Copy the run's artifact ``path`` (``reports/confusion_matrix.png``) to ``target``;
    False when the run has no such artifact."""
    folder = str(Path(path).parent)
    if path not in {f.path for f in client.list_artifacts(run_id, folder)}:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(client.download_artifacts(run_id, path, tmp), target)
    return True


def experiment_names(client: Client) -> list[str]:
    return sorted(e.name for e in client.search_experiments())


def experiment_runs(client: Client, name: str) -> tuple[str, pd.DataFrame] | None:
    """The experiment's id and its runs as MLflow's table (``metrics.*``, ``tags.*``, newest
    first); None when the store has no such experiment."""
    found = client.get_experiment_by_name(name)
    if found is None:
        return None
    runs = mlflow.search_runs([found.experiment_id], order_by=["attributes.start_time DESC"])
    return found.experiment_id, runs
