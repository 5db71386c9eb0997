"""The Lightning logger of a run: MLflow's, writing into the run ``start_run`` opened, or a
CSV file in the run folder when tracking is off."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger
from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig

from artclf.tracking.outbox import outbox_of


class OutboxClient(MlflowClient):
    """MLflow's client, except that ``log_batch`` (how Lightning's logger sends metrics and
    hyperparameters) goes through the run's outbox while ``start_run`` holds one: the
    training loop never waits on the server."""

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> None:
        box = outbox_of(run_id)
        if box is None:
            super().log_batch(run_id, metrics, params, tags, synchronous=synchronous)
            return
        box.put(metrics, params, tags)


class RunLogger(MLFlowLogger):
    """MLflow's Lightning logger, except that it never ends the run: ``start_run`` owns the
    run's status. Lightning's logger marks it FINISHED when fit ends, before the test split and
    the reports, and FAILED on Ctrl-C; a sweep's worker killed right after that (the joblib
    launcher kills its workers on Ctrl-C) would leave an interrupted run FAILED. Left RUNNING,
    the sweep's summary marks it KILLED once its process is gone.

    It knows its run from the start (Lightning's looks it up at the first log, which fails
    while the server is down) and logs through ``OutboxClient``."""

    def __init__(self, experiment_name: str, tracking_uri: str, run: Run) -> None:
        super().__init__(experiment_name, tracking_uri=tracking_uri, run_id=run.info.run_id)
        self._mlflow_client = OutboxClient(tracking_uri)
        self._experiment_id = run.info.experiment_id
        self._initialized = True

    def finalize(self, status: str = "success") -> None:
        """Nothing to close: the run ends when ``start_run``'s block does."""


def lightning_logger(cfg: DictConfig, run: Run | None, run_dir: Path) -> Logger:
    if run is None:
        return CSVLogger(run_dir, name="metrics", version="")
    return RunLogger(str(cfg.logger.experiment_name), str(cfg.logger.tracking_uri), run)
