"""The classification LightningModule: one network, one loss and torchmetrics per task.

Tasks are always a mapping, task (the data's label column) -> class names; a single task is
a mapping of one. Its metrics keep the names runs have always logged (``metric_prefix``):
``{stage}/acc``, ``{stage}/macro_f1``… for one task; ``{stage}/{task}/acc``… for several,
plus, so checkpointing and early stopping watch one number, ``{stage}/acc`` as the mean
accuracy over the tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from artclf.models.classifier import create_classifier
from artclf.models.metrics import classification_metrics, metric_prefix, report_metrics
from artclf.models.mixup import BatchMixup
from artclf.models.optim import build_optimization, parameter_groups

Targets = dict[str, Tensor]
STAGES = ("train", "val", "test")
#: the key older checkpoints gave their one task (its head, loss and class weights)
_OLD_SINGLE_TASK = "label"


def upgrade_checkpoint(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """An older single-task checkpoint (``class_names`` a list; head and loss stored as
    ``net.heads.label``, ``losses.label``) in today's shape, in place: the task named after the
    label column it was trained on (its ``data.labels``, else ``label`` as before). Today's
    checkpoints pass unchanged.
    Every way a classifier checkpoint comes in goes through here: ``load_module`` and resuming
    (``on_load_checkpoint``)."""
    hparams = checkpoint.get("hyper_parameters") or {}
    names = hparams.get("class_names")
    if names is None or isinstance(names, Mapping):
        return checkpoint
    # without a data.labels to name it by, the task keeps the name it was saved under
    labels = (hparams.get("data") or {}).get("labels") or _OLD_SINGLE_TASK
    task = str(labels if isinstance(labels, str) else labels[0])
    hparams["class_names"] = {task: list(names)}
    weights = hparams.get("class_weights")
    hparams["class_weights"] = None if weights is None else {task: list(weights)}
    renames = {f"{part}.{_OLD_SINGLE_TASK}.": f"{part}.{task}." for part in ("net.heads", "losses")}
    for key in ("state_dict", "current_model_state"):  # the latter: EMA's live weights
        if key in checkpoint:
            checkpoint[key] = {_renamed(name, renames): v for name, v in checkpoint[key].items()}
    return checkpoint


def _renamed(name: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        if name.startswith(old):
            return new + name.removeprefix(old)
    return name


class ClassificationModule(L.LightningModule):
    """Everything needed to rebuild the model travels in the checkpoint's hyperparameters
    (plain dicts and lists, so it loads with ``weights_only=True``), class names included."""

    def __init__(
        self,
        model: dict[str, Any],
        class_names: dict[str, list[str]],
        optim: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        class_weights: dict[str, list[float] | None] | None = None,
        label_smoothing: float = 0.0,
        monitor: str = "val/acc",
        data: dict[str, Any] | None = None,
        load_pretrained: bool = True,
    ) -> None:
        """``class_names``: task -> classes, ``class_weights``: task -> weights (or None);
        ``data`` is the training data config, kept so ``artclf.evaluate`` can rebuild the same
        split from the checkpoint alone."""
        super().__init__()
        self.save_hyperparameters(ignore=["load_pretrained"], logger=False)
        self.tasks: dict[str, list[str]] = {k: list(v) for k, v in class_names.items()}
        weights = class_weights or {}
        sizes = {task: len(names) for task, names in self.tasks.items()}
        self.net = create_classifier(model, sizes, pretrained=load_pretrained)
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
                f"{stage}_{task}": classification_metrics(n, metric_prefix(stage, task, sizes))
                for stage in STAGES
                for task, n in sizes.items()
            }
        )
        #: confusion matrix and per-class scores of the test split, for the test reports
        self.reports = nn.ModuleDict({task: report_metrics(n) for task, n in sizes.items()})
        self.mixup = BatchMixup.from_config(model.get("mixup"))
        if self.mixup is not None and len(self.tasks) > 1:
            raise ValueError("model.mixup works with one label column; set model.mixup=null")
        #: training batches are the frozen layers' stored output (``artclf.models.frozen``)
        self.trains_on_features = model.get("freeze_mode") == "cached"
        if self.mixup is not None and self.trains_on_features:
            raise ValueError(
                "model.mixup mixes images, and model.freeze_mode=cached trains on stored "
                "features; set model.mixup=null or model.freeze_mode=inference"
            )

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        return self.net(images)

    def _step(self, batch: tuple[Tensor, Targets], stage: str) -> Tensor:
        images, targets = batch
        several = len(self.tasks) > 1
        soft = None
        if stage == "train" and self.mixup is not None:
            ((task, classes),) = self.tasks.items()
            images, soft = self.mixup(images, targets[task], len(classes))
        if stage == "train" and self.trains_on_features:
            logits = self.net.forward_frozen_output(images)
        else:
            logits = self(images)
        losses, accuracy = [], []
        for task in self.tasks:
            losses.append(self.losses[task](logits[task], targets[task] if soft is None else soft))
            self.metrics[f"{stage}_{task}"].update(logits[task], targets[task])
            if stage == "test":
                self.reports[task].update(logits[task], targets[task])
            if several:
                name = f"{metric_prefix(stage, task, self.tasks)}loss"
                self.log(name, losses[-1], on_step=False, on_epoch=True, sync_dist=True)
                accuracy.append((logits[task].argmax(1) == targets[task]).float().mean())
        loss = torch.stack(losses).sum()
        self.log(f"{stage}/loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        if several:
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

    def predict_step(self, batch: tuple[Tensor, Targets], batch_idx: int) -> dict[str, Tensor]:
        return {task: out.softmax(dim=1) for task, out in self(batch[0]).items()}

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

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Resuming an older checkpoint: its weights under today's names."""
        upgrade_checkpoint(checkpoint)

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
