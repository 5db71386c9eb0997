"""The end of a tracked classification, CycleGAN or AdaIN run: log its MLflow Model
(classifiers: tag the data fingerprint too) and register it when the config asks
(``logger.register`` / ``logger.registered_model_name``). Which of these a run calls is its
``Task``'s decision (``artclf.training.tasks``).

Inside a sweep each job only logs its model; the sweep's end registers the best job
(``artclf.training.sweep_end.RegisterBestJob``) unless ``logger.register_sweep=all``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import mlflow
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

FINGERPRINT_TAG = "artclf.data_fingerprint"
REGISTER_AS_TAG = "artclf.register_as"


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def registration_name(cfg: DictConfig, default_name: str) -> str | None:
    """The registered model's name this run asks for (``default_name``, its task's, unless
    ``logger.registered_model_name`` names one), or None (no registration)."""
    logger = cfg.logger
    if logger.get("registered_model_name"):
        return str(logger.registered_model_name)
    if logger.get("register"):
        return default_name
    return None


def final_checkpoint(trainer: L.Trainer, best_path: str, run_dir: Path) -> str:
    """The best checkpoint, or (a run that never validated, e.g. 0 epochs) the final weights."""
    if best_path:
        return best_path
    path = run_dir / "checkpoints" / "final.ckpt"
    trainer.save_checkpoint(path, weights_only=True)
    return str(path)


def publish_classifier(
    cfg: DictConfig,
    run_id: str,
    trainer: L.Trainer,
    module: L.LightningModule,
    datamodule: L.LightningDataModule,
    best_path: str,
    registered_name: str,
) -> None:
    """Log the pyfunc model of ``module`` (weights of ``best_path``) to the run; register it
    (as ``registered_name`` unless the config names another)."""
    from artclf.publishing.classifier import data_fingerprint, log_classifier

    if not cfg.logger.get("log_model", True):
        return
    ckpt = final_checkpoint(trainer, best_path, Path(cfg.paths.run_dir))
    fingerprint = data_fingerprint(datamodule.records.records, datamodule.roots)
    mlflow.set_tag(FINGERPRINT_TAG, fingerprint)
    dataset = next(d for d in datamodule.datasets.values() if len(d))
    example = dataset.image(0).transpose(1, 2, 0)  # CHW -> HWC
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    log_classifier(ckpt, module, config, fingerprint, example, run_id)
    register(cfg, run_id, registered_name)


def publish_style_network(
    cfg: DictConfig,
    run_id: str,
    trainer: L.Trainer,
    datamodule: L.LightningDataModule,
    best_path: str,
    registered_name: str,
    log_model: Callable[[str, dict[str, Any], bytes, bytes], None],
) -> None:
    """Log a style-transfer network's MLflow Model with ``log_model`` (checkpoint, config, the
    first training image of each of its two folders as the input example) from ``best_path``
    to the run; register it (as ``registered_name`` unless the config names another)."""
    if not cfg.logger.get("log_model", True):
        return
    ckpt = final_checkpoint(trainer, best_path, Path(cfg.paths.run_dir))
    pair = datamodule.train_set
    first_a, first_b = (Path(images[0]).read_bytes() for images in (pair.a, pair.b))
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    log_model(ckpt, config, first_a, first_b)
    register(cfg, run_id, registered_name)


def register(cfg: DictConfig, run_id: str, default_name: str) -> None:
    """Register the run's logged model when the config asks; in a sweep, leave it to the end."""
    from artclf.tracking.registry import register_trained

    name = registration_name(cfg, default_name)
    if name is None:
        return
    if in_multirun() and cfg.logger.get("register_sweep", "best") != "all":
        mlflow.set_tag(REGISTER_AS_TAG, name)  # the sweep's end registers its best job
        log.info("sweep job: the best job of the sweep is registered as %s at its end", name)
        return
    register_trained(run_id, name)


def log_best_checkpoint(cfg: DictConfig, best: str) -> None:
    """The best checkpoint as a run artifact, when ``logger.log_checkpoint`` asks."""
    if cfg.logger.get("log_checkpoint") and best:
        mlflow.log_artifact(best, artifact_path="checkpoints")
