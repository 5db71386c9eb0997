"""The Lightning logger of a run: MLflow's, writing into the run ``start_run`` opened, or a
CSV file in the run folder when tracking is off."""

from __future__ import annotations

from pathlib import Path

import mlflow
from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger
from omegaconf import DictConfig


class RunLogger(MLFlowLogger):
    """MLflow's Lightning logger, except that it never ends the run: ``start_run`` owns the
    run's status. Lightning's logger marks it FINISHED when fit ends, before the test split and
    the reports, and FAILED on Ctrl-C; a sweep's worker killed right after that (the joblib
    launcher kills its workers on Ctrl-C) would leave an interrupted run FAILED. Left RUNNING,
    the sweep's summary marks it KILLED once its process is gone."""

    def finalize(self, status: str = "success") -> None:
        """Nothing to close: the run ends when ``start_run``'s block does."""


def lightning_logger(cfg: DictConfig, run: mlflow.ActiveRun | None, run_dir: Path) -> Logger:
    if run is None:
        return CSVLogger(run_dir, name="metrics", version="")
    return RunLogger(
        experiment_name=str(cfg.logger.experiment_name),
        tracking_uri=str(cfg.logger.tracking_uri),
        run_id=run.info.run_id,
    )
