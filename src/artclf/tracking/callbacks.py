"""Lightning callbacks that send a run's reports to its MLflow run (through the trainer's
``MLFlowLogger``; without one they do nothing): the test split's confusion matrix and
per-class table, and a Grad-CAM grid of right and wrong test predictions."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger


def mlflow_logger(trainer: L.Trainer) -> MLFlowLogger | None:
    return next((lg for lg in trainer.loggers if isinstance(lg, MLFlowLogger)), None)


class RunReport(Callback, ABC):
    """A report made once the best checkpoint has been tested; the trainer that tests (after
    a multi-process fit, a one-device one: ``artclf.distributed``) must carry it."""

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

        from artclf.reports import confusion_matrix_figure, per_class_report

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

        from artclf.explanations import prediction_grid_figure

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
