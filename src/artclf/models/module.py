"""The classification LightningModule: one network, one loss and torchmetrics per task.

A single task logs ``{stage}/acc``, ``{stage}/macro_f1``…; several tasks (``class_names`` a
dict, targets a dict per batch) log ``{stage}/{task}/acc``… and, so checkpointing and early
stopping watch one number, ``{stage}/acc`` as the mean accuracy over the tasks.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MetricCollection

from artclf.models.classifier import create_classifier
from artclf.models.metrics import classification_metrics, report_metrics
from artclf.models.mixup import BatchMixup
from artclf.models.optim import build_optimization, parameter_groups

Targets = Tensor | dict[str, Tensor]
STAGES = ("train", "val", "test")


class ClassificationModule(L.LightningModule):
    """Everything needed to rebuild the model travels in the checkpoint's hyperparameters
    (plain dicts and lists, so it loads with ``weights_only=True``), class names included."""

    def __init__(
        self,
        model: dict[str, Any],
        class_names: list[str] | dict[str, list[str]],
        optim: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        class_weights: list[float] | dict[str, list[float] | None] | None = None,
        label_smoothing: float = 0.0,
        monitor: str = "val/acc",
        data: dict[str, Any] | None = None,
        load_pretrained: bool = True,
    ) -> None:
        """``data`` is the training data config, kept so ``artclf.evaluate`` can rebuild the
        same split from the checkpoint alone."""
        super().__init__()
        self.save_hyperparameters(ignore=["load_pretrained"], logger=False)
        self.multi_task = isinstance(class_names, dict)
        self.tasks: dict[str, list[str]] = (
            {k: list(v) for k, v in class_names.items()}
            if self.multi_task
            else {"label": list(class_names)}
        )
        weights = class_weights if isinstance(class_weights, dict) else {"label": class_weights}
        sizes = {task: len(names) for task, names in self.tasks.items()}
        self.net = create_classifier(
            model, sizes if self.multi_task else sizes["label"], pretrained=load_pretrained
        )
        self.losses = nn.ModuleDict(
            {
                task: nn.CrossEntropyLoss(
                    weight=torch.tensor(weights[task], dtype=torch.float32)
                    if weights.get(task)
                    else None,
                    label_smoothing=label_smoothing,
                )
                for task in self.tasks
            }
        )
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_{task}": classification_metrics(n, self._prefix(stage, task))
                for stage in STAGES
                for task, n in sizes.items()
            }
        )
        #: confusion matrix and per-class scores of the test split, for the test reports
        self.reports = nn.ModuleDict({task: report_metrics(n) for task, n in sizes.items()})
        self.mixup = BatchMixup.from_config(model.get("mixup"))
        if self.mixup is not None and self.multi_task:
            raise ValueError("model.mixup works with one label column; set model.mixup=null")

    @property
    def class_names(self) -> list[str]:
        """Class names of the (first) task: what single-task callers index logits with."""
        return next(iter(self.tasks.values()))

    @property
    def test_reports(self) -> MetricCollection:
        """The (first) task's ``report_metrics``, filled by the last test."""
        return self.reports[next(iter(self.tasks))]

    def _prefix(self, stage: str, task: str) -> str:
        return f"{stage}/{task}/" if self.multi_task else f"{stage}/"

    def forward(self, images: Tensor) -> Tensor | dict[str, Tensor]:
        return self.net(images)

    def _as_dicts(self, logits: Targets, targets: Targets) -> tuple[dict, dict]:
        if self.multi_task:
            return logits, targets
        return {"label": logits}, {"label": targets}

    def _step(self, batch: tuple[Tensor, Targets], stage: str) -> Tensor:
        images, targets = batch
        soft = None
        if stage == "train" and self.mixup is not None:
            images, soft = self.mixup(images, targets, len(self.class_names))
        logits, targets = self._as_dicts(self(images), targets)
        losses, accuracy = [], []
        for task in self.tasks:
            losses.append(self.losses[task](logits[task], targets[task] if soft is None else soft))
            self.metrics[f"{stage}_{task}"].update(logits[task], targets[task])
            if stage == "test":
                self.reports[task].update(logits[task], targets[task])
            if self.multi_task:
                self.log(
                    f"{stage}/{task}/loss", losses[-1], on_step=False, on_epoch=True, sync_dist=True
                )
                accuracy.append((logits[task].argmax(1) == targets[task]).float().mean())
        loss = torch.stack(losses).sum()
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        if self.multi_task:
            self.log(
                f"{stage}/acc",
                torch.stack(accuracy).mean(),
                on_step=False,
                on_epoch=True,
                prog_bar=True,
                batch_size=len(images),
                sync_dist=True,
            )
        return loss

    def training_step(self, batch: tuple[Tensor, Targets], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Targets], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Targets], batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: tuple[Tensor, Targets], batch_idx: int) -> Targets:
        logits = self(batch[0])
        if self.multi_task:
            return {task: out.softmax(dim=1) for task, out in logits.items()}
        return logits.softmax(dim=1)

    def _log_epoch_metrics(self, stage: str) -> None:
        """Compute, log and reset the stage's metrics once per epoch. Logging the metric
        objects from every step instead makes Lightning move them each time: a quarter of a
        small model's training time on a CPU (``make bench``)."""
        for task in self.tasks:
            metrics = self.metrics[f"{stage}_{task}"]
            # compute() already gathers every rank's state; sync_dist only states it.
            self.log_dict(metrics.compute(), prog_bar=stage != "train", sync_dist=True)
            metrics.reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def on_test_epoch_start(self) -> None:
        for reports in self.reports.values():
            reports.reset()

    def configure_optimizers(self) -> dict[str, Any]:
        attached = self._trainer is not None
        return build_optimization(
            parameter_groups(self.net, self.hparams.optim),
            self.hparams.optim,
            self.hparams.scheduler,
            max_epochs=self.trainer.max_epochs if attached else 1,
            monitor=self.hparams.monitor,
            total_steps=int(self.trainer.estimated_stepping_batches) if attached else None,
        )
