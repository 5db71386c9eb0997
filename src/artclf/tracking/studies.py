"""MLflow runs of an Optuna study (``artclf.tune``): the study's own run, parent of one child
run per trial, and the closing of trials that were pruned or died."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from artclf.tracking.retry import retry_locked
from artclf.tracking.runs import _experiment_id, git_tags
from artclf.tracking.store import ensure_store


def create_study_run(uri: str, experiment_name: str, study: str) -> str:
    """A new run for ``study`` (its trials become its children); return its id."""
    ensure_store(uri)
    client = MlflowClient(uri)
    experiment_id = retry_locked(_experiment_id, client, experiment_name, uri)
    tags = {"artclf.role": "study", "optuna.study": study, **git_tags()}
    return client.create_run(experiment_id, run_name=f"study-{study}", tags=tags).info.run_id


def close_trial_runs(uri: str, parent: str, run_name: str, state: str) -> None:
    """Mark the child runs of ``parent`` named ``run_name`` KILLED, tagged ``optuna.state``."""
    client = MlflowClient(uri)
    runs = client.search_runs(
        [client.get_run(parent).info.experiment_id],
        f"tags.mlflow.parentRunId = '{parent}' and attributes.run_name = '{run_name}'",
    )
    for run in runs:
        client.set_tag(run.info.run_id, "optuna.state", state)
        client.set_terminated(run.info.run_id, "KILLED")
