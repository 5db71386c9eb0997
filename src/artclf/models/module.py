"""The classification LightningModule: one network, one loss, torchmetrics per stage."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics.classification import MulticlassConfusionMatrix

from artclf.models.classifier import create_classifier
from artclf.models.metrics import classification_metrics
from artclf.models.optim import build_optimization


class ClassificationModule(L.LightningModule):
    """Everything needed to rebuild the model travels in the checkpoint's hyperparameters
    (plain dicts and lists, so it loads with ``weights_only=True``), class names included."""

    def __init__(
        self,
        model: dict[str, Any],
        class_names: list[str],
        optim: dict[str, Any],
        scheduler: dict[str, Any] | None = None,
        class_weights: list[float] | None = None,
        label_smoothing: float = 0.0,
        monitor: str = "val/acc",
        load_pretrained: bool = True,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["load_pretrained"], logger=False)
        self.class_names = list(class_names)
        num_classes = len(class_names)
        self.net = create_classifier(model, num_classes, pretrained=load_pretrained)
        weight = torch.tensor(class_weights, dtype=torch.float32) if class_weights else None
        self.loss = nn.CrossEntropyLoss(weight=weight, label_smoothing=label_smoothing)
        self.train_metrics = classification_metrics(num_classes, "train/")
        self.val_metrics = classification_metrics(num_classes, "val/")
        self.test_metrics = classification_metrics(num_classes, "test/")
        self.test_confusion = MulticlassConfusionMatrix(num_classes)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)

    def _step(self, batch: tuple[Tensor, Tensor], stage: str) -> Tensor:
        images, targets = batch
        logits = self(images)
        loss = self.loss(logits, targets)
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(logits, targets)
        on_step = stage == "train"
        self.log(f"{stage}/loss", loss, on_step=on_step, on_epoch=True, prog_bar=True)
        self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=stage != "train")
        if stage == "test":
            self.test_confusion.update(logits, targets)
        return loss

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        return self(batch[0]).softmax(dim=1)

    def on_test_epoch_start(self) -> None:
        self.test_confusion.reset()

    def configure_optimizers(self) -> dict[str, Any]:
        return build_optimization(
            (p for p in self.parameters() if p.requires_grad),
            self.hparams.optim,
            self.hparams.scheduler or {"name": "none"},
            max_epochs=self.trainer.max_epochs if self._trainer is not None else 1,
            monitor=self.hparams.monitor,
        )
