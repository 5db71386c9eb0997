"""The MLflow side of an Optuna study (``artclf.tune``): one run for the study, created by the
first process, and a KILLED child run for every pruned or dead trial, so the study's run has
one child per started trial."""

from __future__ import annotations

from typing import Any

from mlflow.entities import Param

from artclf.tracking.experiments import experiment_id as find_experiment
from artclf.tracking.queries import PARENT_TAG, child_runs, connect
from artclf.tracking.retry import retry_locked
from artclf.tracking.runs import git_tags
from artclf.tracking.store import ensure_store


def create_study_run(uri: str, experiment: str, study: str) -> str:
    """A new run ``study-<study>`` in ``experiment`` of the store at ``uri``; its id."""
    ensure_store(uri)
    client = connect(uri)
    experiment_id = retry_locked(find_experiment, client, experiment, uri)
    tags = {"artclf.role": "study", "optuna.study": study, **git_tags()}
    return client.create_run(experiment_id, run_name=f"study-{study}", tags=tags).info.run_id


def kill_trial_run(
    uri: str, parent: str, name: str, state: str, task: str, params: dict[str, Any] | None
) -> None:
    """Mark the run ``name`` under ``parent`` KILLED and tag it with the Optuna ``state``; a
    trial killed before its run existed gets one now (of ``task``, with its ``params``)."""
    client = connect(uri)
    runs = child_runs(client, parent, run_name=name)
    if not runs:
        experiment_id = client.get_run(parent).info.experiment_id
        tags = {PARENT_TAG: parent, "artclf.task": task}
        runs = [client.create_run(experiment_id, run_name=name, tags=tags)]
        values = [Param(key, str(value)) for key, value in (params or {}).items()]
        client.log_batch(runs[0].info.run_id, params=values)
    for run in runs:
        client.set_tag(run.info.run_id, "optuna.state", state)
        client.set_terminated(run.info.run_id, "KILLED")
