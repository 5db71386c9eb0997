"""Stop training the moment a loss is NaN or infinite, before any checkpoint can keep it."""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback


class NonFiniteLossError(ValueError):
    """Training diverged; the run fails with this as its reason."""


class StopOnNonFiniteLoss(Callback):
    """Raises after the first training batch whose loss is not finite, and before the
    checkpoint callbacks (which Lightning runs last) when a validation loss is not: so a
    diverged model is never saved, chosen as best, or logged."""

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch, batch_idx
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        values = {"train loss": loss} if isinstance(loss, torch.Tensor) else {}
        values.update({k: v for k, v in trainer.callback_metrics.items() if "loss" in k})
        self._check(trainer, values, f"batch {batch_idx}")

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            values = {k: v for k, v in trainer.callback_metrics.items() if "loss" in k}
            self._check(trainer, values, "validation")

    def _check(self, trainer: L.Trainer, values: dict[str, Any], where: str) -> None:
        for name, value in values.items():
            number = float(value.detach().float().mean()) if torch.is_tensor(value) else value
            if not math.isfinite(number):
                optimizer = trainer.optimizers[0] if trainer.optimizers else None
                lr = optimizer.param_groups[0]["lr"] if optimizer else None
                now = f" (now {lr:g})" if isinstance(lr, float) else ""
                raise NonFiniteLossError(
                    f"{name} became {number} at epoch {trainer.current_epoch}, {where}: "
                    "training diverged and was stopped, no checkpoint of it kept; "
                    f"lower optim.lr{now} or set trainer.gradient_clip_val"
                )
