"""``best/<metric>``: the best value of the watched metric and the epoch it came from.

MLflow shows a metric's last value; the search, the checkpoint and the console use the
best epoch's. Logging ``best/val/acc``, ``best/epoch`` and the other validation metrics of
that epoch (``best/val/macro_f1``) beside the per-epoch series makes all of them agree.
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import Callback


class BestMetric(Callback):
    """Track the best ``monitor`` value (``mode`` max or min) over validation epochs and log
    it, its epoch and the validation metrics of that epoch under ``best/`` to every logger."""

    def __init__(self, monitor: str, mode: str = "max") -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"callbacks.checkpoint.mode={mode!r}; valid choices: max, min")
        self.monitor, self.mode = monitor, mode
        self.value: float | None = None
        self.epoch: int | None = None

    def _better(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.value is None:
            return True
        return value > self.value if self.mode == "max" else value < self.value

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        # After the module's epoch-end logging (callbacks' epoch-end hooks run before it).
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        if not self._better(value):
            return
        self.value, self.epoch = value, trainer.current_epoch
        stage = self.monitor.split("/")[0] + "/"
        metrics = {
            f"best/{k}": float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith(stage) and getattr(v, "numel", lambda: 1)() == 1
        }
        metrics["best/epoch"] = float(self.epoch)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=trainer.global_step)

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "epoch": self.epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.value, self.epoch = state_dict.get("value"), state_dict.get("epoch")
