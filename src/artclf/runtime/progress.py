"""Progress as log lines, for output that is not a terminal (nohup, cluster logs, pipes).

A progress bar written to a file is either nothing (buffered) or a wall of carriage
returns; a line every N steps or M seconds, with the rate and the time left, is what a log
reader needs. ``ProgressReporter`` decides when to print; ``ProgressLog`` feeds it from a
Lightning fit, and ``artclf.style.engine`` from the Gatys loop.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from lightning.pytorch.callbacks import Callback

log = logging.getLogger("artclf.runtime.progress")


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class ProgressReporter:
    """Log ``label step k/total, values, rate, ETA`` every ``every_n_steps`` steps or
    ``every_seconds`` seconds, whichever comes first, and at the last step."""

    def __init__(
        self,
        label: str,
        total: int | None,
        every_n_steps: int = 50,
        every_seconds: float = 30.0,
        unit: str = "steps",
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.every_n_steps, self.every_seconds = max(1, every_n_steps), every_seconds
        self.started = self.last = time.monotonic()
        self.last_step = 0

    def update(self, step: int, prefix: str = "", **values: float) -> bool:
        """Report ``step`` (1-based, steps done so far) if it is time; return whether it was."""
        now = time.monotonic()
        due = (
            step - self.last_step >= self.every_n_steps
            or now - self.last >= self.every_seconds
            or (self.total is not None and step >= self.total)
        )
        if not due or step <= self.last_step:
            return False
        self.last, self.last_step = now, step
        rate = step / max(now - self.started, 1e-9)
        parts = [f"{self.label}{prefix}", f"step {step}" + (f"/{self.total}" if self.total else "")]
        parts += [f"{name} {value:.4g}" for name, value in values.items()]
        parts.append(f"{rate:.3g} {self.unit}/s")
        if self.total:
            parts.append(f"ETA {_duration(max(self.total - step, 0) / rate)}")
        log.info(", ".join(parts))
        return True

    def report(self, step: int, values: dict[str, float]) -> None:
        """``update`` as a callback taking the step and a dict of values."""
        self.update(step, **values)


class ProgressLog(Callback):
    """Lightning callback: training progress lines (epoch, step, loss, rate, ETA) and one line
    of validation metrics per epoch, in place of a progress bar when there is no terminal."""

    def __init__(self, every_n_steps: int = 50, every_seconds: float = 30.0) -> None:
        self.every_n_steps, self.every_seconds = every_n_steps, every_seconds
        self.reporter: ProgressReporter | None = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        total = trainer.estimated_stepping_batches
        total = int(total) if total != float("inf") else None
        self.reporter = ProgressReporter("train", total, self.every_n_steps, self.every_seconds)

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.reporter is None:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        values = {"loss": float(loss)} if loss is not None else {}
        epoch = f" epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"
        self.reporter.update(trainer.global_step, prefix=epoch, **values)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith("val/") and getattr(v, "numel", lambda: 1)() == 1
        }
        if metrics:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))
            log.info("validation epoch %d: %s", trainer.current_epoch + 1, shown)


def progress_callback(every_n_steps: int = 50, every_seconds: float = 30.0) -> Callback:
    """Lightning's rich bar on a terminal, else ``ProgressLog`` lines (``conf/callbacks``)."""
    import sys

    if sys.stdout.isatty():
        from lightning.pytorch.callbacks import RichProgressBar

        return RichProgressBar()
    return ProgressLog(every_n_steps, every_seconds)
