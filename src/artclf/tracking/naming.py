"""Run names that tell runs apart: a second run of the same configuration gets ``-2``."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from artclf.tracking.retry import retry_locked


def unique_name(client: MlflowClient, experiment_id: str, name: str) -> str:
    """``name``, or ``name-<n>`` with the smallest n >= 2 no run of the experiment has yet.

    Five default runs are then ``simple_cnn_32-s42``, ``simple_cnn_32-s42-2``, ... in the UI
    instead of five identical rows. (Two runs starting in the same instant may still pick
    the same number; the run id stays unique.)
    """
    quoted = name.replace("'", "\\'")
    runs = retry_locked(
        client.search_runs,
        [experiment_id],
        filter_string=f"attributes.run_name LIKE '{quoted}%'",
        max_results=50_000,
    )
    taken = {run.info.run_name for run in runs}
    if name not in taken:
        return name
    count = 2
    while f"{name}-{count}" in taken:
        count += 1
    return f"{name}-{count}"
