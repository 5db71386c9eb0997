"""Lightning callbacks that send a run's reports to its MLflow run (through the trainer's
``MLFlowLogger``; without one they do nothing): the test split's confusion matrix and
per-class table, a Grad-CAM grid of right and wrong test predictions, the reference that
monitoring compares a deployed model against, and the per-epoch sample grids of the
image-to-image models (CycleGAN, AdaIN)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger

log = logging.getLogger(__name__)


def mlflow_logger(trainer: L.Trainer) -> MLFlowLogger | None:
    return next((lg for lg in trainer.loggers if isinstance(lg, MLFlowLogger)), None)


class RunReport(Callback, ABC):
    """A report made once the best checkpoint has been tested; the trainer that tests (after
    a multi-process fit, a one-device one: ``artclf.runtime.distributed``) must carry it."""

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        logger = mlflow_logger(trainer)
        if logger is not None and trainer.is_global_zero:
            self.report(logger, trainer, pl_module)

    @abstractmethod
    def report(self, logger: MLFlowLogger, trainer: L.Trainer, module: Any) -> None:
        """Log this report to ``logger``'s run."""


class TestReports(RunReport):
    """Confusion matrix PNG and per-class CSV of the test split (the first task's)."""

    def report(self, logger: MLFlowLogger, trainer: L.Trainer, module: Any) -> None:
        import matplotlib.pyplot as plt

        from artclf.evaluation.figures import confusion_matrix_figure, per_class_report

        task, classes = next(iter(module.tasks.items()))
        if not module.reports[task]["confusion"].update_called:
            return
        scores = module.reports[task].compute()
        matrix = scores["confusion"].cpu().numpy()
        client, run_id = logger.experiment, logger.run_id
        figure = confusion_matrix_figure(matrix, classes, title="test confusion matrix")
        client.log_figure(run_id, figure, "reports/confusion_matrix.png", save_kwargs={"dpi": 120})
        plt.close(figure)
        report = per_class_report(scores, classes).to_csv(index=False)
        client.log_text(run_id, report, "reports/per_class_report.csv")


class GradCamGrid(RunReport):
    """Grad-CAM of right and wrong predictions on (up to ``limit``) test images, so a run shows
    what its model looks at."""

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit

    def report(self, logger: MLFlowLogger, trainer: L.Trainer, module: Any) -> None:
        import matplotlib.pyplot as plt
        import numpy as np
        import torch

        from artclf.evaluation.explanations import prediction_grid_figure

        datamodule = trainer.datamodule
        datasets = getattr(datamodule, "datasets", None)
        if not hasattr(module, "tasks") or datasets is None:
            return
        dataset = datasets["test" if datamodule.has_test else "val"]
        count = min(len(dataset), self.limit)
        images = np.stack([dataset.image(i) for i in range(count)]).transpose(0, 2, 3, 1)
        targets = np.asarray(dataset.targets[:count, 0])  # the grid shows the first task
        # the test loop runs without autograd; Grad-CAM needs it back
        with torch.inference_mode(False), torch.enable_grad():
            figure = prediction_grid_figure(module.cpu().eval(), images, targets)
        if figure is None:
            return
        path = "reports/gradcam_grid.png"
        logger.experiment.log_figure(logger.run_id, figure, path, save_kwargs={"dpi": 110})
        plt.close(figure)


class MonitoringReference(RunReport):
    """What monitoring compares the deployed model against (``artclf.monitoring.reference``),
    from the held-out split the best checkpoint was just tested on (never training images,
    which would make healthy traffic look shifted), logged under ``monitoring/``."""

    def report(self, logger: MLFlowLogger, trainer: L.Trainer, module: Any) -> None:
        import tempfile

        from artclf.monitoring.reference import ARTIFACT_DIR, MIN_IMAGES, reference_of

        datamodule = trainer.datamodule
        datasets = getattr(datamodule, "datasets", None)
        if not hasattr(module, "tasks") or datasets is None:
            return
        split = "test" if datamodule.has_test else "val"
        if len(datasets[split]) < MIN_IMAGES:
            log.warning(
                "no monitoring reference: the %s split has %d images, fewer than %d",
                split,
                len(datasets[split]),
                MIN_IMAGES,
            )
            return
        reference = reference_of(module, datasets[split], split)
        with tempfile.TemporaryDirectory() as tmp:
            for path in reference.save(Path(tmp)):
                logger.experiment.log_artifact(logger.run_id, str(path), ARTIFACT_DIR)


class SampleGrid(Callback):
    """Rows of held-out images, one PNG per epoch: ``samples/epochNNN.png`` in the run folder
    and, under MLflow, the same PNG as an artifact under ``samples/`` and the keyed image
    ``samples`` at the epoch's step (the UI lines the epochs up).

    The module's ``validation_step`` returns its image columns (``(B, 3, H, W)`` tensors in
    ``value_range``: CycleGAN real A | fake B | rec A | real B | fake A | rec B, AdaIN content
    | style | stylised); the first ``n_samples`` rows of the epoch make the grid."""

    def __init__(self, n_samples: int = 4, value_range: tuple[float, float] = (0.0, 1.0)) -> None:
        self.n_samples = n_samples
        self.low, self.high = value_range
        self._rows: list[Any] = []

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._rows = []

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Sequence[Any] | None,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        import torch

        missing = self.n_samples - sum(len(rows) for rows in self._rows)
        if trainer.sanity_checking or not outputs or missing <= 0:
            return
        rows = torch.stack([column[:missing].detach() for column in outputs], 1).cpu()
        self._rows.append(rows.sub(self.low).div(self.high - self.low))

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._rows and not trainer.sanity_checking and trainer.is_global_zero:
            self.log_grid(trainer, pl_module.current_epoch)

    def log_grid(self, trainer: L.Trainer, epoch: int) -> Path:
        """Save this epoch's rows as one grid (a row per sample) and log it; return the file."""
        import torch
        from torchvision.utils import make_grid, save_image

        rows = torch.cat(self._rows)
        grid = make_grid(
            rows.flatten(0, 1).clamp(0, 1), nrow=rows.shape[1], padding=2, pad_value=1.0
        )
        path = Path(trainer.default_root_dir) / f"samples/epoch{epoch:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, path)
        logger = mlflow_logger(trainer)
        if logger is not None:
            logger.experiment.log_artifact(logger.run_id, str(path), artifact_path="samples")
            array = grid.mul(255).round().byte().permute(1, 2, 0).numpy()
            logger.experiment.log_image(logger.run_id, array, key="samples", step=epoch)
        return path
