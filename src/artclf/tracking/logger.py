"""The Lightning logger of a run: MLflow's, writing into the run ``start_run`` opened, or a
CSV file in the run folder when tracking is off."""

from __future__ import annotations

from pathlib import Path

import mlflow
from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger
from omegaconf import DictConfig


def lightning_logger(cfg: DictConfig, run: mlflow.ActiveRun | None, run_dir: Path) -> Logger:
    if run is None:
        return CSVLogger(run_dir, name="metrics", version="")
    return MLFlowLogger(
        experiment_name=str(cfg.logger.experiment_name),
        tracking_uri=str(cfg.logger.tracking_uri),
        run_id=run.info.run_id,
    )
