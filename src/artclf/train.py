"""``python -m artclf.train``: fit, test the best checkpoint, track everything in MLflow.

Entry points stay thin: ``main`` composes the config, ``train(cfg)`` does the work and
returns the optimised metric (so Optuna and tests can call it directly).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from lightning.pytorch.callbacks import (
    Callback,
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    RichProgressBar,
)
from lightning.pytorch.loggers import CSVLogger, Logger, MLFlowLogger
from omegaconf import DictConfig

from artclf import checkpoints
from artclf.cli import run_or_exit
from artclf.config import to_plain
from artclf.distributed import one_device_tester
from artclf.finite import StopOnNonFiniteLoss
from artclf.progress import ProgressLog
from artclf.resume import config_from_checkpoint
from artclf.tracking import start_run
from artclf.tracking.best import BestMetric
from artclf.tracking.datasets import log_data_inputs
from artclf.tracking.publish import registration_name
from artclf.validation import validate_train

log = logging.getLogger(__name__)


def build_classification(cfg: DictConfig) -> tuple[L.LightningModule, L.LightningDataModule]:
    """The datamodule (set up, so the classes are known) and the module for its classes."""
    from hydra.utils import instantiate

    from artclf.models.module import ClassificationModule

    datamodule = instantiate(cfg.data, augment=cfg.aug, _recursive_=False)
    datamodule.prepare_data()
    datamodule.setup("fit")
    weights = datamodule.class_weights
    weights = weights.tolist() if weights is not None else None
    tasks = datamodule.tasks  # several label columns: one head per column
    module = ClassificationModule(
        model=to_plain(cfg.model),
        class_names=tasks if tasks else list(datamodule.classes),
        optim=to_plain(cfg.optim),
        scheduler=to_plain(cfg.scheduler),
        class_weights={next(iter(tasks)): weights} if tasks else weights,
        label_smoothing=float(cfg.model.get("label_smoothing", 0.0)),
        monitor=str(cfg.optimized.metric),
        data=to_plain(cfg.data),
    )
    return module, datamodule


def build_cyclegan(cfg: DictConfig) -> tuple[L.LightningModule, L.LightningDataModule]:
    from artclf.models.cyclegan import build_cyclegan as build

    return build(cfg)


def build_adain(cfg: DictConfig) -> tuple[L.LightningModule, L.LightningDataModule]:
    from artclf.models.adain import build_adain as build

    return build(cfg)


TASKS = {"classify": build_classification, "cyclegan": build_cyclegan, "adain": build_adain}


def build_callbacks(
    cfg: DictConfig, run_dir: Path, checkpoint_dir: Path | None = None
) -> tuple[list[Callback], ModelCheckpoint]:
    callbacks_cfg = cfg.callbacks
    checkpoint_dir = checkpoint_dir or run_dir / "checkpoints"
    checkpoint = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename="epoch{epoch:03d}",
        auto_insert_metric_name=False,
        monitor=callbacks_cfg.checkpoint.monitor,
        mode=callbacks_cfg.checkpoint.mode,
    )
    callbacks: list[Callback] = [
        StopOnNonFiniteLoss(),
        checkpoints.RandomState(),
        checkpoint,
        BestMetric(checkpoint.monitor, checkpoint.mode),
    ]
    if callbacks_cfg.checkpoint.save_last:
        callbacks.append(checkpoints.last_checkpoint(checkpoint_dir))
    stopping = callbacks_cfg.early_stopping
    if stopping.enabled:
        callbacks.append(
            EarlyStopping(monitor=stopping.monitor, mode=stopping.mode, patience=stopping.patience)
        )
    if callbacks_cfg.lr_monitor:
        callbacks.append(LearningRateMonitor(logging_interval="epoch"))
    if callbacks_cfg.progress_bar and sys.stdout.isatty():
        callbacks.append(RichProgressBar())
    elif callbacks_cfg.progress_bar:  # a file or a pipe: progress lines instead of a bar
        callbacks.append(ProgressLog(**callbacks_cfg.progress_log))
    finetune = cfg.get("model", {}).get("finetune")
    if finetune:
        from artclf.models.finetune import TwoPhaseFinetuning

        callbacks.append(TwoPhaseFinetuning(int(finetune.switch_epoch), int(finetune.top_layers)))
    from artclf.models.ema import ema_callbacks

    callbacks += ema_callbacks(cfg.get("model", {}))
    return callbacks, checkpoint


def build_logger(cfg: DictConfig, run: Any, run_dir: Path) -> Logger:
    if run is None:
        return CSVLogger(run_dir, name="metrics", version="")
    return MLFlowLogger(
        experiment_name=str(cfg.logger.experiment_name),
        tracking_uri=str(cfg.logger.tracking_uri),
        run_id=run.info.run_id,
    )


def train(cfg: DictConfig, extra_callbacks: Sequence[Callback] = ()) -> float:
    """Fit, test the best checkpoint, log reports and the checkpoint; return the optimised
    metric. ``extra_callbacks`` join the configured ones (``artclf.tune``'s pruning)."""
    cfg = config_from_checkpoint(cfg)  # resuming: the checkpoint's model and data
    validate_train(cfg)
    resume = checkpoints.Resume(cfg.get("ckpt_path"))
    if cfg.get("seed") is not None:
        L.seed_everything(int(cfg.seed), workers=True, verbose=False)
    run_dir = Path(cfg.paths.run_dir)
    with start_run(cfg, resume.run_id) as run:
        module, datamodule = TASKS[cfg.get("task", "classify")](cfg)
        if run is not None:
            module.mlflow_run_id = run.info.run_id
            if hasattr(datamodule, "fingerprint"):  # a classification dataset (not CycleGAN)
                log_data_inputs(cfg, datamodule)
        callbacks, checkpoint = build_callbacks(cfg, run_dir, resume.checkpoint_dir)
        callbacks.extend(extra_callbacks)
        trainer = L.Trainer(
            **to_plain(cfg.trainer),
            callbacks=callbacks,
            logger=build_logger(cfg, run, run_dir),
            default_root_dir=run_dir,
            enable_progress_bar=bool(cfg.callbacks.progress_bar) and sys.stdout.isatty(),
            plugins=[checkpoints.AtomicCheckpointIO()],
        )
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume.path, weights_only=True)
        best = checkpoint.best_model_score
        score = (
            float(best)
            if best is not None
            else float(trainer.callback_metrics[cfg.optimized.metric])
        )
        if cfg.get("test") and getattr(datamodule, "has_test", True) and trainer.is_global_zero:
            ckpt = checkpoint.best_model_path or None
            tester = one_device_tester(trainer, cfg.trainer)
            tester.test(module, datamodule=datamodule, ckpt_path=ckpt, weights_only=True)
            if run is not None:
                log_test_reports(run.info.run_id, module)
                log_gradcam_grid(run.info.run_id, module, datamodule)
        if run is not None and cfg.get("task", "classify") == "classify":
            from artclf.tracking.publish import publish_classifier

            best = checkpoint.best_model_path
            publish_classifier(cfg, run.info.run_id, trainer, module, datamodule, best)
        if run is not None and cfg.logger.get("log_checkpoint") and checkpoint.best_model_path:
            import mlflow

            mlflow.log_artifact(checkpoint.best_model_path, artifact_path="checkpoints")
            if cfg.get("task") == "adain" and (name := registration_name(cfg)):
                from artclf.tracking.registry import register_trained

                register_trained(run.info.run_id, name)  # a classifier registers its pyfunc above
        log.info("%s = %.4f; run folder %s", cfg.optimized.metric, score, run_dir)
        return score


def log_test_reports(run_id: str, module: L.LightningModule) -> None:
    """Confusion matrix PNG and per-class CSV of the test split, as run artifacts."""
    import matplotlib.pyplot as plt
    from mlflow.tracking import MlflowClient

    from artclf.reports import confusion_matrix_figure, per_class_report

    confusion = getattr(module, "test_confusion", None)
    if confusion is None or not confusion.update_called:
        return
    matrix = confusion.compute().cpu().numpy()
    classes = module.class_names
    client = MlflowClient()
    figure = confusion_matrix_figure(matrix, classes, title="test confusion matrix")
    client.log_figure(run_id, figure, "reports/confusion_matrix.png", save_kwargs={"dpi": 120})
    plt.close(figure)
    report = per_class_report(matrix, classes).to_csv(index=False)
    client.log_text(run_id, report, "reports/per_class_report.csv")


def log_gradcam_grid(
    run_id: str, module: L.LightningModule, datamodule: L.LightningDataModule, limit: int = 256
) -> None:
    """Grad-CAM of right and wrong predictions on (up to ``limit``) test images, as a run
    artifact, so a run shows what its model looks at."""
    import matplotlib.pyplot as plt
    import numpy as np
    from mlflow.tracking import MlflowClient

    from artclf.explain import prediction_grid_figure

    datasets = getattr(datamodule, "datasets", None)
    if not hasattr(module, "tasks") or datasets is None:
        return
    dataset = datasets["test" if datamodule.has_test else "val"]
    count = min(len(dataset), limit)
    images = np.stack([dataset.image(i) for i in range(count)]).transpose(0, 2, 3, 1)  # CHW->HWC
    targets = np.asarray(dataset.targets[:count])
    if targets.ndim == 2:  # multi-task: the grid shows the first task
        targets = targets[:, 0]
    figure = prediction_grid_figure(module.cpu().eval(), images, targets)
    if figure is None:
        return
    MlflowClient().log_figure(run_id, figure, "reports/gradcam_grid.png", save_kwargs={"dpi": 110})
    plt.close(figure)


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return run_or_exit(train, cfg)


if __name__ == "__main__":
    main()
